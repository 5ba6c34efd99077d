package sfu

// picFields are the picture ID and TL0PICIDX of a VP8 or VP9 payload
// descriptor, with their offsets in the payload: the forwarder rewrites
// them so that a switch between layers (simulcast, or the spatial layer
// streams of an SVC track relayed from another node) keeps them
// continuous, and the subscriber takes the new layer's key frame as the
// next picture rather than an old one.
type picFields struct {
	hasPicID  bool
	picIDWide bool // 15 bits
	picID     uint16
	picIDOff  int

	hasTL0 bool
	tl0    uint8
	tl0Off int
}

// picIDMask is the modulus of the picture ID field as it is on the wire.
func (d *picFields) picIDMask() uint16 {
	if d.picIDWide {
		return 0x7fff
	}
	return 0x7f
}

// rewrite stores picID and tl0 into buf, a copy of the payload d was parsed
// from. The field widths stay as the publisher sent them.
func (d *picFields) rewrite(buf []byte, picID uint16, tl0 uint8) {
	if d.hasPicID {
		if d.picIDWide {
			buf[d.picIDOff] = 0x80 | byte(picID>>8)&0x7f
			buf[d.picIDOff+1] = byte(picID)
		} else {
			buf[d.picIDOff] = byte(picID) & 0x7f
		}
	}
	if d.hasTL0 {
		buf[d.tl0Off] = tl0
	}
}
