package loadtest

import (
	"encoding/binary"
	"errors"
	"time"
)

// Generated media. The SFU never decodes media, it only reads the VP8
// payload header (to find keyframes and, on keyframes, the frame size), so
// synthetic frames with valid VP8 frame headers and padding exercise the
// whole forwarding path at the real packet rate and size. Each frame carries
// a probe: a magic, the send time and the frame number, so the subscriber
// measures frame latency and missing frames without a decoder.

// probeMagic starts the probe in every generated frame.
var probeMagic = [4]byte{'Q', 'R', 'T', 'N'}

// probeLen is the probe's size: magic(4) send-unix-nanos(8) frame(4) layer(1).
const probeLen = 17

// errNoProbe means a payload does not carry a loadtest probe.
var errNoProbe = errors.New("loadtest: no probe in payload")

// probe is what a frame says about itself.
type probe struct {
	sent  time.Time
	frame uint32
	layer byte // 's', 'l' (video) or 'a' (audio)
}

func putProbe(b []byte, p probe) {
	copy(b, probeMagic[:])
	binary.BigEndian.PutUint64(b[4:], uint64(p.sent.UnixNano()))
	binary.BigEndian.PutUint32(b[12:], p.frame)
	b[16] = p.layer
}

func readProbe(b []byte) (probe, error) {
	if len(b) < probeLen || [4]byte(b[:4]) != probeMagic {
		return probe{}, errNoProbe
	}
	return probe{
		sent:  time.Unix(0, int64(binary.BigEndian.Uint64(b[4:]))),
		frame: binary.BigEndian.Uint32(b[12:]),
		layer: b[16],
	}, nil
}

// vp8Frame builds one VP8 frame (RFC 6386 section 9.1) of size bytes: the
// 3-byte frame tag, on keyframes the start code and dimensions, then the
// probe and zero padding standing in for the compressed partitions.
func vp8Frame(size int, key bool, width, height int, p probe) []byte {
	head := 3
	if key {
		head = 10
	}
	if size < head+probeLen {
		size = head + probeLen
	}
	b := make([]byte, size)
	firstPart := size - head           // the whole rest is "the first partition"
	tag := uint32(firstPart)<<5 | 1<<4 // show_frame=1, version 0
	if !key {
		tag |= 1 // frame type 1 = interframe
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(b[6:], uint16(width&0x3fff))
		binary.LittleEndian.PutUint16(b[8:], uint16(height&0x3fff))
	}
	putProbe(b[head:], p)
	return b
}

// vp8Probe reads the probe of a VP8 frame's first bytes (the payload of the
// RTP packet that starts the frame, after the VP8 payload descriptor). It
// also reports whether the frame is a keyframe.
func vp8Probe(frame []byte) (probe, bool, error) {
	if len(frame) < 3 {
		return probe{}, false, errNoProbe
	}
	key := frame[0]&1 == 0
	head := 3
	if key {
		head = 10
	}
	if len(frame) < head {
		return probe{}, key, errNoProbe
	}
	p, err := readProbe(frame[head:])
	return p, key, err
}

// opusFrame builds one Opus packet of size bytes: a TOC byte for a 20 ms
// CELT fullband mono frame (config 31, RFC 6716 section 3.1), the probe and
// padding.
func opusFrame(size int, p probe) []byte {
	if size < 1+probeLen {
		size = 1 + probeLen
	}
	b := make([]byte, size)
	b[0] = 31 << 3
	putProbe(b[1:], p)
	return b
}

// opusProbe reads the probe of an Opus packet built by opusFrame.
func opusProbe(b []byte) (probe, error) {
	if len(b) < 1 {
		return probe{}, errNoProbe
	}
	return readProbe(b[1:])
}

// frameSizes spreads a bitrate over frames: keyframes are keyFactor times
// the size of an interframe, and the average over a keyframe interval
// matches the bitrate.
type frameSizes struct {
	key, delta int
}

func newFrameSizes(bitrate, fps int, keyInterval time.Duration, keyFactor int) frameSizes {
	avg := bitrate / 8 / fps
	n := int(keyInterval.Seconds() * float64(fps)) // frames per keyframe interval
	if n < 1 {
		n = 1
	}
	delta := avg * n / (n - 1 + keyFactor)
	return frameSizes{key: delta * keyFactor, delta: delta}
}
