package wire

import "encoding/binary"

// PacketType is the type of a long-header packet.
type PacketType uint8

// Long-header packet types. Only handshake traffic uses long headers; all
// data after the handshake travels in short-header packets.
const (
	// PacketKeyRequest asks a responder for its static public key. It is
	// padded to at least MinKeyRequestSize so that the answer is never larger.
	PacketKeyRequest PacketType = 0
	// PacketKeyResponse carries the responder's 32-byte static public key.
	PacketKeyResponse PacketType = 1
	// PacketRetry carries a stateless address-validation cookie.
	PacketRetry PacketType = 2
	// PacketInit carries an optional cookie and Noise message 1 (with 0-RTT frames).
	PacketInit PacketType = 3
	// PacketInitResponse carries Noise message 2 (with 0.5-RTT frames).
	PacketInitResponse PacketType = 4
)

func (t PacketType) String() string {
	switch t {
	case PacketKeyRequest:
		return "key_request"
	case PacketKeyResponse:
		return "key_response"
	case PacketRetry:
		return "retry"
	case PacketInit:
		return "init"
	case PacketInitResponse:
		return "init_response"
	}
	return "unknown"
}

// hasCookie reports whether the type carries a cookie-length field.
func (t PacketType) hasCookie() bool { return t == PacketRetry || t == PacketInit }

const (
	longHeaderBit = 0x80
	fixedBit      = 0x40
	// LongHeaderLen is the size of the common long-header prefix: first
	// byte, version, destination and source connection IDs.
	LongHeaderLen = 1 + 4 + 2*ConnIDLen
	// MinKeyRequestSize is the smallest valid KeyRequest datagram.
	MinKeyRequestSize = 1200
	// StaticKeyLen is the size of the public key in a KeyResponse.
	StaticKeyLen = 32
)

// LongHeader is a decoded long-header packet. Cookie and Body alias the
// input. HeaderLen counts the bytes before Body: those bytes are the Noise
// prologue of Init and InitResponse, so the handshake authenticates them.
type LongHeader struct {
	Type      PacketType
	Version   uint32
	DCID      ConnectionID
	SCID      ConnectionID
	Cookie    []byte // Retry and Init only; empty if none
	Body      []byte
	HeaderLen int
}

// IsLongHeader reports whether a datagram starts with a long header.
func IsLongHeader(b []byte) bool { return len(b) > 0 && b[0]&longHeaderBit != 0 }

// AppendLongHeader appends h's header, including the cookie for Retry and
// Init, but not its Body: the caller appends the body (which for Init and
// InitResponse is produced with the header as prologue).
func AppendLongHeader(b []byte, h *LongHeader) []byte {
	b = append(b, longHeaderBit|fixedBit|byte(h.Type&7)<<3)
	b = binary.BigEndian.AppendUint32(b, h.Version)
	b = append(b, h.DCID[:]...)
	b = append(b, h.SCID[:]...)
	if h.Type.hasCookie() {
		c := h.Cookie[:min(len(h.Cookie), MaxCookieLen)]
		b = append(b, byte(len(c)))
		b = append(b, c...)
	}
	return b
}

// ParseLongHeader decodes a long-header packet occupying all of b. A packet
// of another version returns ErrVersion with Version, DCID and SCID filled,
// so the caller can log what it dropped.
func ParseLongHeader(b []byte, h *LongHeader) error {
	if len(b) < LongHeaderLen {
		return ErrTruncated
	}
	if b[0]&(longHeaderBit|fixedBit) != longHeaderBit|fixedBit {
		return ErrMalformed
	}
	h.Type = PacketType(b[0] >> 3 & 7)
	h.Version = binary.BigEndian.Uint32(b[1:5])
	copy(h.DCID[:], b[5:5+ConnIDLen])
	copy(h.SCID[:], b[5+ConnIDLen:LongHeaderLen])
	h.Cookie, h.Body = nil, nil
	if h.Version != Version {
		return ErrVersion
	}
	off := LongHeaderLen
	if h.Type.hasCookie() {
		if len(b) <= off {
			return ErrTruncated
		}
		n := int(b[off])
		off++
		if n > MaxCookieLen {
			return ErrRange
		}
		if len(b)-off < n {
			return ErrTruncated
		}
		h.Cookie = b[off : off+n : off+n]
		off += n
	}
	h.HeaderLen = off
	h.Body = b[off:len(b):len(b)]
	switch h.Type {
	case PacketKeyRequest:
		if len(b) < MinKeyRequestSize {
			return ErrRange
		}
	case PacketKeyResponse:
		if len(h.Body) != StaticKeyLen {
			return ErrRange
		}
	case PacketRetry:
		if len(h.Cookie) == 0 || len(h.Body) != 0 {
			return ErrRange
		}
	case PacketInit, PacketInitResponse:
		if len(h.Body) == 0 {
			return ErrTruncated
		}
	default:
		return ErrUnknownPacket
	}
	return nil
}
