package wire

// Variable-length integers use the two-bit length prefix of RFC 9000 §16:
// 1, 2, 4 or 8 bytes holding 6, 14, 30 or 62 bits. Decoders accept
// non-minimal encodings; encoders always write the shortest.

// MaxVarint is the largest value a varint holds.
const MaxVarint = 1<<62 - 1

// VarintLen is the number of bytes AppendVarint writes for v.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	default:
		return 8
	}
}

// AppendVarint appends v. Values above MaxVarint are clamped to it: callers
// keep their values in range (offsets and counters never get near 2^62).
func AppendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, 0x40|byte(v>>8), byte(v))
	case v < 1<<30:
		return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		v = min(v, MaxVarint)
		return append(b, 0xc0|byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// appendVarint2 appends v (< 2^14) in exactly two bytes, for fields whose
// size must be known before the value is (a count written ahead of a list).
func appendVarint2(b []byte, v uint64) []byte {
	return append(b, 0x40|byte(v>>8), byte(v))
}

// ParseVarint decodes one varint from the front of b and returns it with the
// number of bytes it took. It returns ErrTruncated if b is too short.
func ParseVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrTruncated
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, ErrTruncated
	}
	v := uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}

// reader walks a frame body. Its methods record the first error and return
// zero values afterwards, so parsers read fields in sequence and check err
// once at the end.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) varint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := ParseVarint(r.b[r.off:])
	if err != nil {
		r.err = err
		return 0
	}
	r.off += n
	return v
}

// bytes returns the next n bytes, aliasing the input.
func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = ErrTruncated
		return nil
	}
	s := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return s
}

// rest returns everything left.
func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	s := r.b[r.off:len(r.b):len(r.b)]
	r.off = len(r.b)
	return s
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}
