package sfu

// H.264 NAL unit types the forwarder looks for (RFC 6184 §5.4).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluSTAPA = 24
	naluFUA   = 28
)

// h264Keyframe reports whether an H.264 RTP payload (packetization mode 1)
// starts a key frame: it carries a sequence parameter set, or starts an IDR
// slice. Browsers send the SPS and PPS in a STAP-A just before the IDR, so
// the forwarder switches layers at the packet that brings the SPS, and a
// decoder that starts there has what it needs.
func h264Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	switch t := payload[0] & 0x1f; t {
	case naluIDR, naluSPS:
		return true
	case naluSTAPA:
		for b := payload[1:]; len(b) >= 3; {
			size := int(b[0])<<8 | int(b[1])
			if size == 0 || len(b) < 2+size {
				return false
			}
			if nt := b[2] & 0x1f; nt == naluIDR || nt == naluSPS {
				return true
			}
			b = b[2+size:]
		}
	case naluFUA:
		// FU header: S bit, then the fragmented unit's type.
		return len(payload) >= 2 && payload[1]&0x80 != 0 && payload[1]&0x1f == naluIDR
	}
	return false
}
