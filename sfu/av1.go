package sfu

// av1Keyframe reports whether an AV1 RTP payload starts a key frame: the
// aggregation header's N bit marks the first packet of a coded video
// sequence, which begins with a key frame (AV1 RTP specification §4.4).
func av1Keyframe(payload []byte) bool {
	return len(payload) >= 1 && payload[0]&0x08 != 0
}
