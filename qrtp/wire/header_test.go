package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestLongHeaderRoundTrip(t *testing.T) {
	dcid := ConnectionID{1, 2, 3, 4, 5, 6, 7, 8}
	scid := ConnectionID{9, 10, 11, 12, 13, 14, 15, 16}
	cases := []struct {
		h    LongHeader
		body []byte
	}{
		{LongHeader{Type: PacketKeyRequest}, make([]byte, MinKeyRequestSize-LongHeaderLen)},
		{LongHeader{Type: PacketKeyResponse}, bytes.Repeat([]byte{7}, StaticKeyLen)},
		{LongHeader{Type: PacketRetry, Cookie: []byte("cookie")}, nil},
		{LongHeader{Type: PacketInit, Cookie: []byte("c")}, []byte("noise message 1")},
		{LongHeader{Type: PacketInit}, []byte("noise message 1")},
		{LongHeader{Type: PacketInitResponse}, []byte("noise message 2")},
	}
	for _, c := range cases {
		c.h.Version, c.h.DCID, c.h.SCID = Version, dcid, scid
		b := AppendLongHeader(nil, &c.h)
		hlen := len(b)
		b = append(b, c.body...)
		if !IsLongHeader(b) {
			t.Fatalf("%v: not long", c.h.Type)
		}
		var got LongHeader
		if err := ParseLongHeader(b, &got); err != nil {
			t.Fatalf("%v: %v", c.h.Type, err)
		}
		if got.Type != c.h.Type || got.DCID != dcid || got.SCID != scid || got.HeaderLen != hlen ||
			!bytes.Equal(got.Cookie, c.h.Cookie) || !bytes.Equal(got.Body, c.body) {
			t.Errorf("%v: got %+v", c.h.Type, got)
		}
		if id, ok := PeekDCID(b); !ok || id != dcid {
			t.Errorf("%v: PeekDCID %v", c.h.Type, id)
		}
	}
}

func TestLongHeaderRejects(t *testing.T) {
	h := LongHeader{Type: PacketKeyRequest, Version: Version}
	short := append(AppendLongHeader(nil, &h), make([]byte, 100)...)
	var got LongHeader
	if err := ParseLongHeader(short, &got); !errors.Is(err, ErrRange) {
		t.Errorf("short KeyRequest: %v", err)
	}
	h = LongHeader{Type: PacketInit, Version: 7}
	if err := ParseLongHeader(append(AppendLongHeader(nil, &h), 1), &got); !errors.Is(err, ErrVersion) || got.Version != 7 {
		t.Errorf("version: %v %d", err, got.Version)
	}
	h = LongHeader{Type: 6, Version: Version}
	if err := ParseLongHeader(append(AppendLongHeader(nil, &h), 1), &got); !errors.Is(err, ErrUnknownPacket) {
		t.Errorf("type: %v", err)
	}
}

func TestShortHeaderRoundTrip(t *testing.T) {
	dcid := ConnectionID{8, 7, 6, 5, 4, 3, 2, 1}
	for pnLen := 1; pnLen <= 4; pnLen++ {
		pn := uint64(0x1122334455)
		b := AppendShortHeader(nil, dcid, pn, pnLen, pnLen%2 == 0)
		if IsLongHeader(b) {
			t.Fatal("long")
		}
		var h ShortHeader
		if err := ParseShortHeader(b, &h); err != nil {
			t.Fatal(err)
		}
		mask := uint64(1)<<(8*pnLen) - 1
		if h.DCID != dcid || h.PNLen != pnLen || h.Len != len(b) || h.TruncatedPN != pn&mask || h.KeyPhase != (pnLen%2 == 0) {
			t.Errorf("pnLen %d: %+v", pnLen, h)
		}
	}
}

func TestPacketNumberDecode(t *testing.T) {
	// RFC 9000 A.3 example.
	if got := DecodePacketNumber(0xa82f30ea, true, 0x9b32, 2); got != 0xa82f9b32 {
		t.Errorf("rfc example: %x", got)
	}
	for _, largest := range []uint64{0, 1, 100, 255, 256, 1000, 65535, 1 << 20, 1<<32 + 17} {
		for _, delta := range []uint64{1, 2, 50, 127, 300, 30000} {
			pn := largest + delta
			for acked := largest; ; acked -= min(acked, 37) {
				n := PacketNumberLen(pn, acked, true)
				trunc := pn & (uint64(1)<<(8*n) - 1)
				if got := DecodePacketNumber(largest, true, trunc, n); got != pn {
					t.Fatalf("largest %d pn %d acked %d len %d: got %d", largest, pn, acked, n, got)
				}
				if acked == 0 || largest-acked > 200 {
					break
				}
			}
		}
	}
	if got := DecodePacketNumber(0, false, 0, 1); got != 0 {
		t.Errorf("first: %d", got)
	}
}

func FuzzParseLongHeader(f *testing.F) {
	h := LongHeader{Type: PacketInit, Version: Version, Cookie: []byte("ck")}
	f.Add(append(AppendLongHeader(nil, &h), "msg"...))
	h = LongHeader{Type: PacketRetry, Version: Version, Cookie: []byte("ck")}
	f.Add(AppendLongHeader(nil, &h))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h LongHeader
		if err := ParseLongHeader(b, &h); err != nil {
			return
		}
		if h.HeaderLen+len(h.Body) != len(b) {
			t.Fatalf("lengths %d+%d != %d", h.HeaderLen, len(h.Body), len(b))
		}
		again := append(AppendLongHeader(nil, &h), h.Body...)
		var h2 LongHeader
		if err := ParseLongHeader(again, &h2); err != nil || h2.Type != h.Type || !bytes.Equal(h2.Body, h.Body) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseShortHeader(f *testing.F) {
	f.Add(AppendShortHeader(nil, ConnectionID{1}, 77, 2, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h ShortHeader
		if err := ParseShortHeader(b, &h); err != nil {
			return
		}
		again := AppendShortHeader(nil, h.DCID, h.TruncatedPN, h.PNLen, h.KeyPhase)
		if !bytes.Equal(again, b[:h.Len]) && b[0]&0x38 == 0 {
			t.Fatalf("round trip %x vs %x", again, b[:h.Len])
		}
	})
}

func BenchmarkShortHeader(b *testing.B) {
	buf := make([]byte, 0, 64)
	var h ShortHeader
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendShortHeader(buf[:0], ConnectionID{1}, uint64(i), 2, false)
		if err := ParseShortHeader(buf, &h); err != nil {
			b.Fatal(err)
		}
	}
}
