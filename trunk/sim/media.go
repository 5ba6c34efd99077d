package sim

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/qrtn/qrtn/trunk"
)

// The synthetic packet: an RTP header (version 2, marker on a frame's last
// packet, sequence number, timestamp, SSRC) and a payload that starts with
// what the metrics need to follow the frame:
//
//	frame uint32 | index uint16 | count uint16 | sent int64 (ns since the epoch) | flags uint8
//
// (flags: 1 key frame, 2 audio)
//
// padded to the packet's size. Trunks relay it as any RTP packet.
const (
	rtpHeader   = 12
	frameHeader = 17
	maxPayload  = 1100
)

// frameInfo is what a packet says of its frame.
type frameInfo struct {
	seq          uint16
	ssrc         uint32
	frame        uint32
	index, count uint16
	sent         int64
	key, audio   bool
}

func parsePacket(b []byte) (frameInfo, bool) {
	if len(b) < rtpHeader+frameHeader || b[0]>>6 != 2 {
		return frameInfo{}, false
	}
	p := b[rtpHeader:]
	fi := frameInfo{seq: binary.BigEndian.Uint16(b[2:4]), ssrc: binary.BigEndian.Uint32(b[8:12]), frame: binary.BigEndian.Uint32(p),
		index: binary.BigEndian.Uint16(p[4:]), count: binary.BigEndian.Uint16(p[6:]),
		sent: int64(binary.BigEndian.Uint64(p[8:])), key: p[16]&1 != 0, audio: p[16]&2 != 0}
	if fi.count == 0 || fi.index >= fi.count {
		return frameInfo{}, false
	}
	return fi, true
}

// TrackSpec is a synthetic track a user publishes.
type TrackSpec struct {
	ID   string `yaml:"id"`
	Kind string `yaml:"kind"` // audio or video
	// FPS is the frame rate: video frames (default 25), or audio packets
	// (default 50: 20 ms each).
	FPS float64 `yaml:"fps"`
	// Bitrates are the layers' rates in bits/s, small first (video
	// default 150k and 600k; audio 40k).
	Bitrates []float64 `yaml:"bitrates"`
	// KeyFactor: a key frame is this many times a frame's size (default 4).
	KeyFactor float64 `yaml:"key_factor"`
}

func (ts TrackSpec) withDefaults() TrackSpec {
	if ts.Kind == "" {
		ts.Kind = "video"
	}
	if ts.Kind == "audio" {
		if ts.FPS <= 0 {
			ts.FPS = 50
		}
		if len(ts.Bitrates) == 0 {
			ts.Bitrates = []float64{40e3}
		}
		ts.Bitrates = ts.Bitrates[:1]
	}
	if ts.FPS <= 0 {
		ts.FPS = 25
	}
	if len(ts.Bitrates) == 0 {
		ts.Bitrates = []float64{150e3, 600e3}
	}
	if ts.KeyFactor <= 0 {
		ts.KeyFactor = 4
	}
	return ts
}

// interval is the time between frames.
func (ts TrackSpec) interval() time.Duration { return time.Duration(float64(time.Second) / ts.FPS) }

// layerNames are the RIDs announced for simulcast layers, small first.
func (ts TrackSpec) layerNames() []string {
	if ts.Kind == "audio" || len(ts.Bitrates) < 2 {
		return nil
	}
	names := []string{"q", "h", "f", "x", "y", "z", "u", "v"}
	return names[:min(len(ts.Bitrates), len(names))]
}

// pubTrack is a track published on a node: one frame generator per layer.
type pubTrack struct {
	ref    trunk.TrackRef
	spec   TrackSpec
	layers []*pubLayer
}

// pubLayer generates one layer's frames while the Core takes it out.
type pubLayer struct {
	ssrc    uint32
	seq     uint16
	frame   uint32
	on      bool
	next    time.Time // when the next frame is due
	key     bool      // the next frame is a key frame
	keyAt   time.Time // last key frame request served
	history [256]sentFrame
	buf     []byte
	slot    int // its place in local.slots
}

// dueAt is when emit next has work: at once for a layer just started (or
// silent for long, which emit restarts), never while it is off.
func (l *pubLayer) dueAt() int64 {
	switch {
	case !l.on:
		return math.MaxInt64
	case l.next.IsZero():
		return math.MinInt64
	}
	return l.next.UnixNano()
}

type sentFrame struct {
	frame uint32
	at    time.Time
}

// keyframeInterval throttles key frames per layer, as the SFU does.
const keyframeInterval = 400 * time.Millisecond

// emit sends every frame of the layer due by now through send.
func (l *pubLayer) emit(now time.Time, ts TrackSpec, rate float64, send func([]byte)) {
	if !l.on {
		return
	}
	if l.next.IsZero() || now.Sub(l.next) > time.Second {
		l.next = now
	}
	for !l.next.After(now) {
		size := int(math.Round(rate / 8 / ts.FPS))
		if l.key && ts.Kind == "video" {
			size = int(float64(size) * ts.KeyFactor)
		}
		size = max(size, frameHeader+1)
		count := (size + maxPayload - 1) / maxPayload
		per := size / count
		sent := l.next
		for i := range count {
			b := l.packet(uint16(i), uint16(count), sent, per, ts)
			send(b)
		}
		l.history[l.frame%uint32(len(l.history))] = sentFrame{frame: l.frame, at: sent}
		l.frame++
		l.key = false
		l.next = l.next.Add(ts.interval())
	}
}

func (l *pubLayer) packet(i, count uint16, sent time.Time, size int, ts TrackSpec) []byte {
	n := rtpHeader + max(size, frameHeader)
	if cap(l.buf) < n {
		l.buf = make([]byte, n)
	}
	b := l.buf[:n]
	clear(b)
	b[0] = 0x80
	b[1] = 96
	if i == count-1 {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], l.seq)
	l.seq++
	binary.BigEndian.PutUint32(b[4:], uint32(sent.UnixNano()/int64(time.Second/90000)))
	binary.BigEndian.PutUint32(b[8:], l.ssrc)
	p := b[rtpHeader:]
	binary.BigEndian.PutUint32(p, l.frame)
	binary.BigEndian.PutUint16(p[4:], i)
	binary.BigEndian.PutUint16(p[6:], count)
	binary.BigEndian.PutUint64(p[8:], uint64(sent.UnixNano()))
	if l.key {
		p[16] |= 1
	}
	if ts.Kind == "audio" {
		p[16] |= 2
	}
	return b
}

// lastBefore returns the last frame sent at or before t, and whether the
// history reaches back that far.
func (l *pubLayer) lastBefore(t time.Time) (uint32, bool) {
	best, ok := uint32(0), false
	for _, h := range l.history {
		if h.at.IsZero() || h.at.After(t) {
			continue
		}
		if !ok || h.frame > best {
			best, ok = h.frame, true
		}
	}
	return best, ok
}
