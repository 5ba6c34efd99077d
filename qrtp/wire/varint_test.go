package wire

import (
	"errors"
	"testing"
)

func TestVarintRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 16383, 16384, 1<<30 - 1, 1 << 30, MaxVarint} {
		b := AppendVarint(nil, v)
		if len(b) != VarintLen(v) {
			t.Errorf("%d: len %d, VarintLen %d", v, len(b), VarintLen(v))
		}
		got, n, err := ParseVarint(b)
		if err != nil || got != v || n != len(b) {
			t.Errorf("%d: got %d,%d,%v", v, got, n, err)
		}
	}
}

func TestVarintKnownEncodings(t *testing.T) {
	// Examples from RFC 9000 appendix A.1.
	cases := []struct {
		b []byte
		v uint64
	}{
		{[]byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}, 151288809941952652},
		{[]byte{0x9d, 0x7f, 0x3e, 0x7d}, 494878333},
		{[]byte{0x7b, 0xbd}, 15293},
		{[]byte{0x25}, 37},
		{[]byte{0x40, 0x25}, 37}, // non-minimal is accepted
	}
	for _, c := range cases {
		v, n, err := ParseVarint(c.b)
		if err != nil || v != c.v || n != len(c.b) {
			t.Errorf("%x: got %d,%d,%v want %d", c.b, v, n, err, c.v)
		}
	}
}

func TestVarintTruncated(t *testing.T) {
	for _, b := range [][]byte{nil, {0x40}, {0x80, 1, 2}, {0xc0, 1, 2, 3, 4, 5, 6}} {
		if _, _, err := ParseVarint(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: err %v", b, err)
		}
	}
}

func FuzzParseVarint(f *testing.F) {
	f.Add([]byte{0x25})
	f.Add([]byte{0x7b, 0xbd})
	f.Add([]byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := ParseVarint(b)
		if err != nil {
			return
		}
		if n > len(b) || v > MaxVarint {
			t.Fatalf("n %d v %d", n, v)
		}
		if got, _, _ := ParseVarint(AppendVarint(nil, v)); got != v {
			t.Fatalf("re-encode %d -> %d", v, got)
		}
	})
}

func BenchmarkVarint(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendVarint(buf[:0], uint64(i)*977)
		if _, _, err := ParseVarint(buf); err != nil {
			b.Fatal(err)
		}
	}
}
