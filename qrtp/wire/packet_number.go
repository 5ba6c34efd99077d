package wire

// Packet numbers travel truncated to 1..4 bytes (RFC 9000 §17.1 and its
// appendix A): the sender sends enough bytes to cover twice the distance to
// the largest packet number the peer has acknowledged, and the receiver
// picks the candidate closest to one past the largest it has received.

// PacketNumberLen is how many bytes to send pn in, given the largest packet
// number the peer has acknowledged (acked false if none yet).
func PacketNumberLen(pn, largestAcked uint64, acked bool) int {
	unacked := pn + 1
	if acked && pn > largestAcked {
		unacked = pn - largestAcked
	}
	switch {
	case unacked < 1<<7:
		return 1
	case unacked < 1<<15:
		return 2
	case unacked < 1<<23:
		return 3
	default:
		return 4
	}
}

// DecodePacketNumber expands a truncated packet number of pnLen bytes,
// given the largest packet number received so far (received false if none).
func DecodePacketNumber(largest uint64, received bool, truncated uint64, pnLen int) uint64 {
	expected := uint64(0)
	if received {
		expected = largest + 1
	}
	win := uint64(1) << (8 * uint(pnLen))
	hwin := win / 2
	mask := win - 1
	candidate := expected&^mask | truncated&mask
	switch {
	case candidate+hwin <= expected && candidate < MaxVarint-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}
