package sfu

import (
	"encoding/binary"

	"github.com/pion/rtp"
)

// TemporalCut takes the pictures above a temporal layer out of one RTP
// stream of a VP9 track, or of an AV1 track with the dependency
// descriptor: a stream as a trunk carries it (one spatial layer's stream
// of an SVC track, svc_sink.go, or a simulcast stream), for one next hop
// whose subscribers all want a lower frame rate. The trunk package keeps
// one per media stream it sends; this file knows the codecs, not trunks.
//
// What is left decodes on its own: no picture references one of a higher
// temporal layer, so going down happens at the next picture. Going up
// happens where the codec allows it, as a subscriber's own filter does
// (svc_temporal.go): VP9 at a picture whose U bit is set and whose
// temporal layer the stream already carries, or a key frame; AV1 at a
// frame that is a switch point of the decode target of (the stream's
// spatial layer, the new temporal layer) whose chain was sent, or a key
// frame. Dropped packets leave the sequence numbers (as svcSink's do), so
// the next hop sees a stream without gaps; picture IDs and AV1 frame
// numbers keep theirs, which decoders expect of a lower frame rate.
//
// A cut that never dropped anything passes every packet unchanged and,
// for VP9, without parsing it. AV1 packets are always parsed, so that the
// descriptor's structure (sent with key frames) and the chains are known
// when a cut begins. A packet that cannot be placed in a layer passes.
//
// Not safe for concurrent use: one goroutine (the trunk's loop) owns it.
type TemporalCut struct {
	av1   bool
	ddExt uint8
	layer int // the stream's spatial layer (AV1 decode target)

	max int // highest temporal layer wanted (allTemporal: every one)
	cur int // VP9: highest temporal layer passed
	// used: the cut has been below every layer at some time; from then on
	// the sequence numbers are rewritten.
	used bool

	pkt     rtp.Packet
	dd      ddState
	follow  av1Follow
	started bool
	last    uint16 // newest input sequence number
	dropped uint16 // input packets taken out of the sequence numbers
	buf     [maxPacketSize]byte

	// Passed and Dropped count packets since the cut began.
	Passed, Dropped uint64
}

// AllTemporal is the highest temporal layer a stream can have (VP9 and
// AV1 code it in 3 bits): a cut at it passes everything.
const AllTemporal = allTemporal - 1

// NewTemporalCut returns a cut for a stream of spatial layer layer of a
// track of codec mime whose AV1 dependency descriptor is header extension
// ddExt (0: none), passing every layer for now; nil when the track has no
// temporal layers to cut (another codec, or AV1 without the descriptor).
func NewTemporalCut(mime string, ddExt uint8, layer int) *TemporalCut {
	c := &TemporalCut{ddExt: ddExt, layer: layer, max: allTemporal, cur: allTemporal}
	switch codecKindOf(mime) {
	case codecVP9:
	case codecAV1:
		if ddExt == 0 {
			return nil
		}
		c.av1 = true
	default:
		return nil
	}
	return c
}

// SetMax sets the highest temporal layer passed from the next picture on
// (AllTemporal or more: every layer). Going up waits for a switch point.
func (c *TemporalCut) SetMax(tl int) {
	if tl >= AllTemporal {
		tl = allTemporal
	}
	c.max = max(tl, 0)
	if c.max < allTemporal {
		c.used = true
	}
}

// Max is the highest temporal layer wanted (AllTemporal: every one).
func (c *TemporalCut) Max() int { return min(c.max, AllTemporal) }

// Filter returns the packet as the next hop gets it, or nil when it is
// dropped. raw is not modified; the result is valid until the next call.
func (c *TemporalCut) Filter(raw []byte) []byte {
	if !c.used && !c.av1 {
		return raw
	}
	if len(raw) < 12 {
		return raw
	}
	seq := binary.BigEndian.Uint16(raw[2:4])
	newer := !c.started || int16(seq-c.last) > 0
	if newer {
		c.started, c.last = true, seq
	}
	if !c.keep(raw) {
		if newer {
			c.dropped++
		}
		c.Dropped++
		return nil
	}
	c.Passed++
	if c.dropped == 0 || len(raw) > len(c.buf) {
		return raw
	}
	out := c.buf[:copy(c.buf[:], raw)]
	binary.BigEndian.PutUint16(out[2:4], seq-c.dropped)
	return out
}

// keep decides one packet.
func (c *TemporalCut) keep(raw []byte) bool {
	if err := c.pkt.Unmarshal(raw); err != nil {
		return true
	}
	if c.av1 {
		v, bad := c.dd.parseAV1(c.pkt.GetExtension(c.ddExt), c.pkt.Payload)
		if bad || !v.ok || v.st == nil {
			return true
		}
		in, _, _ := c.follow.step(&v, c.layer, c.max)
		return in || !c.used
	}
	d, err := parseVP9(c.pkt.Payload)
	if err != nil {
		return true
	}
	v := vp9SVC(&d)
	if v.tuStart {
		switch {
		case v.keyframe, c.max < c.cur:
			c.cur = c.max
		case c.max > c.cur && v.upSwitch && int(v.tid) <= c.cur:
			c.cur = c.max
		}
	}
	return int(v.tid) <= c.cur
}
