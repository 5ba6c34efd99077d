package sfu

import "errors"

// errVP9Short is returned for a payload too short for its own descriptor.
var errVP9Short = errors.New("sfu: vp9 payload descriptor truncated")

// vp9Descriptor is the parsed VP9 RTP payload descriptor (RFC 9628 §4.2):
// what the forwarder needs to drop the spatial and temporal layers a
// subscriber does not want from an SVC stream, and to switch at key frames.
type vp9Descriptor struct {
	headerLen int
	interPic  bool // P: inter-picture predicted
	flexible  bool // F
	start     bool // B: first packet of a layer frame
	end       bool // E: last packet of a layer frame
	hasLayers bool // L: the layer indices are present
	tid, sid  uint8
	switchUp  bool // U: switching up point to a higher temporal layer
	interLyr  bool // D: depends on the lower spatial layer of the picture
	hasPicID  bool
	picIDWide bool
	picID     uint16
	picIDOff  int
	hasTL0    bool
	tl0       uint8
	tl0Off    int
	// spatialLayers is N_S+1 of a scalability structure (0 when absent):
	// how many spatial layers the stream has, sent with key frames.
	spatialLayers uint8
	// keyframe: the first packet of a key frame's base layer.
	keyframe bool
}

// parseVP9 parses the descriptor at the start of payload. An empty payload
// (padding) parses as a zero descriptor.
func parseVP9(payload []byte) (vp9Descriptor, error) {
	var d vp9Descriptor
	if len(payload) == 0 {
		return d, nil
	}
	b0 := payload[0]
	d.interPic, d.hasLayers, d.flexible = b0&0x40 != 0, b0&0x20 != 0, b0&0x10 != 0
	d.start, d.end = b0&0x08 != 0, b0&0x04 != 0
	i := 1
	need := func(n int) bool { return len(payload) >= i+n }
	if b0&0x80 != 0 { // I
		if !need(1) {
			return d, errVP9Short
		}
		d.hasPicID, d.picIDOff = true, i
		if payload[i]&0x80 != 0 {
			if !need(2) {
				return d, errVP9Short
			}
			d.picIDWide = true
			d.picID = uint16(payload[i]&0x7f)<<8 | uint16(payload[i+1])
			i += 2
		} else {
			d.picID = uint16(payload[i])
			i++
		}
	}
	if d.hasLayers {
		if !need(1) {
			return d, errVP9Short
		}
		x := payload[i]
		d.tid, d.switchUp, d.sid, d.interLyr = x>>5, x&0x10 != 0, (x>>1)&0x07, x&0x01 != 0
		i++
		if !d.flexible {
			if !need(1) {
				return d, errVP9Short
			}
			d.hasTL0, d.tl0, d.tl0Off = true, payload[i], i
			i++
		}
	}
	if d.flexible && d.interPic {
		for k := 0; ; k++ {
			if !need(1) || k == 3 {
				return d, errVP9Short
			}
			more := payload[i]&0x01 != 0
			i++
			if !more {
				break
			}
		}
	}
	if b0&0x02 != 0 { // V: scalability structure
		n, err := d.parseSS(payload[i:])
		if err != nil {
			return d, err
		}
		i += n
	}
	d.headerLen = i
	d.keyframe = !d.interPic && d.start && d.sid == 0
	return d, nil
}

// parseSS reads a scalability structure and returns its length.
func (d *vp9Descriptor) parseSS(b []byte) (int, error) {
	if len(b) < 1 {
		return 0, errVP9Short
	}
	ns := b[0]>>5 + 1
	y, g := b[0]&0x10 != 0, b[0]&0x08 != 0
	d.spatialLayers = ns
	i := 1
	if y {
		i += 4 * int(ns)
	}
	if g {
		if len(b) < i+1 {
			return 0, errVP9Short
		}
		ng := int(b[i])
		i++
		for range ng {
			if len(b) < i+1 {
				return 0, errVP9Short
			}
			r := int(b[i]>>2) & 0x03
			i += 1 + r
		}
	}
	if len(b) < i {
		return 0, errVP9Short
	}
	return i, nil
}

// fields are the descriptor's picture ID and TL0PICIDX as the forwarder
// keeps them continuous.
func (d *vp9Descriptor) fields() picFields {
	return picFields{hasPicID: d.hasPicID, picIDWide: d.picIDWide, picID: d.picID, picIDOff: d.picIDOff,
		hasTL0: d.hasTL0, tl0: d.tl0, tl0Off: d.tl0Off}
}
