package sfu

import "errors"

// errVP8Short is returned for a payload too short for its own descriptor.
var errVP8Short = errors.New("sfu: vp8 payload descriptor truncated")

// vp8Descriptor is the parsed VP8 RTP payload descriptor (RFC 7741 §4.2),
// with the offsets of the fields the forwarder rewrites so that a switch
// between simulcast layers keeps picture IDs continuous for the receiver.
type vp8Descriptor struct {
	headerLen int   // bytes of descriptor before the VP8 payload
	start     bool  // S: first packet of a VP8 partition
	partition uint8 // PID

	hasPicID  bool
	picIDWide bool // M: 15-bit picture ID
	picID     uint16
	picIDOff  int

	hasTL0 bool
	tl0    uint8
	tl0Off int

	hasTID bool
	tid    uint8

	// keyframe is set on the first packet of a key frame: S=1, PID=0 and
	// the VP8 payload header's P bit clear, with the key frame start code.
	keyframe bool
}

// parseVP8 parses the payload descriptor at the start of payload. An empty
// payload (a padding-only packet) parses as a zero descriptor.
func parseVP8(payload []byte) (vp8Descriptor, error) {
	var d vp8Descriptor
	if len(payload) == 0 {
		return d, nil
	}
	b0 := payload[0]
	d.start = b0&0x10 != 0
	d.partition = b0 & 0x07
	i := 1
	if b0&0x80 != 0 { // X
		if len(payload) < 2 {
			return d, errVP8Short
		}
		x := payload[1]
		i = 2
		if x&0x80 != 0 { // I
			if len(payload) < i+1 {
				return d, errVP8Short
			}
			d.hasPicID = true
			d.picIDOff = i
			if payload[i]&0x80 != 0 {
				if len(payload) < i+2 {
					return d, errVP8Short
				}
				d.picIDWide = true
				d.picID = uint16(payload[i]&0x7f)<<8 | uint16(payload[i+1])
				i += 2
			} else {
				d.picID = uint16(payload[i])
				i++
			}
		}
		if x&0x40 != 0 { // L
			if len(payload) < i+1 {
				return d, errVP8Short
			}
			d.hasTL0 = true
			d.tl0Off = i
			d.tl0 = payload[i]
			i++
		}
		if x&0x30 != 0 { // T or K
			if len(payload) < i+1 {
				return d, errVP8Short
			}
			if x&0x20 != 0 {
				d.hasTID = true
				d.tid = payload[i] >> 6
			}
			i++
		}
	}
	d.headerLen = i
	if d.start && d.partition == 0 && len(payload) >= i+6 {
		h := payload[i:]
		// P bit clear, then the 3-byte frame tag's size and the start code
		// 0x9d 0x01 0x2a (RFC 6386 §9.1) that every key frame carries.
		d.keyframe = h[0]&0x01 == 0 && h[3] == 0x9d && h[4] == 0x01 && h[5] == 0x2a
	}
	return d, nil
}

// fields are the descriptor's picture ID and TL0PICIDX as the forwarder
// keeps them continuous.
func (d *vp8Descriptor) fields() picFields {
	return picFields{hasPicID: d.hasPicID, picIDWide: d.picIDWide, picID: d.picID, picIDOff: d.picIDOff,
		hasTL0: d.hasTL0, tl0: d.tl0, tl0Off: d.tl0Off}
}
