package wire

// ShortHeaderLen is the largest short header: first byte, destination
// connection ID and a four-byte truncated packet number.
const ShortHeaderLen = 1 + ConnIDLen + 4

// ShortHeader is a decoded short header. The bytes b[:Len] are the AEAD's
// additional data; the sealed payload follows.
type ShortHeader struct {
	DCID ConnectionID
	// KeyPhase names the sender's packet-key generation modulo 2; it flips
	// at each key update.
	KeyPhase bool
	// TruncatedPN holds the low PNLen bytes of the packet number; expand it
	// with DecodePacketNumber.
	TruncatedPN uint64
	PNLen       int
	Len         int
}

// keyPhaseBit is the key phase in a short header's first byte.
const keyPhaseBit = 0x04

// AppendShortHeader appends a short header carrying the low pnLen (1..4)
// bytes of pn and the key phase.
func AppendShortHeader(b []byte, dcid ConnectionID, pn uint64, pnLen int, keyPhase bool) []byte {
	pnLen = min(max(pnLen, 1), 4)
	first := fixedBit | byte(pnLen-1)
	if keyPhase {
		first |= keyPhaseBit
	}
	b = append(b, first)
	b = append(b, dcid[:]...)
	for i := pnLen - 1; i >= 0; i-- {
		b = append(b, byte(pn>>(8*i)))
	}
	return b
}

// ParseShortHeader decodes the short header at the front of b.
func ParseShortHeader(b []byte, h *ShortHeader) error {
	if len(b) < 1+ConnIDLen+1 {
		return ErrTruncated
	}
	if b[0]&(longHeaderBit|fixedBit) != fixedBit {
		return ErrMalformed
	}
	h.PNLen = int(b[0]&3) + 1
	h.KeyPhase = b[0]&keyPhaseBit != 0
	h.Len = 1 + ConnIDLen + h.PNLen
	if len(b) < h.Len {
		return ErrTruncated
	}
	copy(h.DCID[:], b[1:1+ConnIDLen])
	h.TruncatedPN = 0
	for _, c := range b[1+ConnIDLen : h.Len] {
		h.TruncatedPN = h.TruncatedPN<<8 | uint64(c)
	}
	return nil
}

// PeekDCID returns the destination connection ID of a short- or long-header
// datagram without decoding the rest, for demultiplexing.
func PeekDCID(b []byte) (ConnectionID, bool) {
	var id ConnectionID
	switch {
	case IsLongHeader(b) && len(b) >= LongHeaderLen:
		copy(id[:], b[5:5+ConnIDLen])
	case !IsLongHeader(b) && len(b) >= 1+ConnIDLen:
		copy(id[:], b[1:1+ConnIDLen])
	default:
		return id, false
	}
	return id, true
}
