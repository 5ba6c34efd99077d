package sfu

import (
	"testing"
)

// vp8Payload builds a VP8 RTP payload: a descriptor with a 15-bit picture
// ID and TL0PICIDX, then a frame header that is a key frame when key is set.
func vp8Payload(start, key bool, picID uint16, tl0 uint8, body int) []byte {
	b0 := byte(0x80) // X
	if start {
		b0 |= 0x10
	}
	p := []byte{b0, 0x80 | 0x40 | 0x20, 0x80 | byte(picID>>8)&0x7f, byte(picID), tl0, 0x40}
	if start {
		tag := byte(0x01) // inter frame: P=1
		if key {
			tag = 0x00
		}
		p = append(p, tag, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00)
	}
	for i := 0; i < body; i++ {
		p = append(p, byte(i))
	}
	return p
}

func TestParseVP8(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    vp8Descriptor
		wantErr bool
	}{
		{"key frame start", vp8Payload(true, true, 0x1234, 7, 4),
			vp8Descriptor{headerLen: 6, start: true, hasPicID: true, picIDWide: true, picID: 0x1234, picIDOff: 2, hasTL0: true, tl0: 7, tl0Off: 4, hasTID: true, tid: 1, keyframe: true}, false},
		{"inter frame start", vp8Payload(true, false, 5, 1, 4),
			vp8Descriptor{headerLen: 6, start: true, hasPicID: true, picIDWide: true, picID: 5, picIDOff: 2, hasTL0: true, tl0: 1, tl0Off: 4, hasTID: true, tid: 1}, false},
		{"continuation of a key frame", vp8Payload(false, true, 5, 1, 20),
			vp8Descriptor{headerLen: 6, hasPicID: true, picIDWide: true, picID: 5, picIDOff: 2, hasTL0: true, tl0: 1, tl0Off: 4, hasTID: true, tid: 1}, false},
		{"no extension", []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a},
			vp8Descriptor{headerLen: 1, start: true, keyframe: true}, false},
		{"7-bit picture id", []byte{0x90, 0x80, 0x05, 0x01},
			vp8Descriptor{headerLen: 3, start: true, hasPicID: true, picID: 5, picIDOff: 2}, false},
		{"key bit but no start code", []byte{0x10, 0x00, 0, 0, 0, 0, 0},
			vp8Descriptor{headerLen: 1, start: true}, false},
		{"empty (padding)", nil, vp8Descriptor{}, false},
		{"truncated X", []byte{0x80}, vp8Descriptor{}, true},
		{"truncated picture id", []byte{0x80, 0x80, 0x80}, vp8Descriptor{}, true},
		{"truncated tl0", []byte{0x80, 0x40}, vp8Descriptor{}, true},
		{"truncated tid", []byte{0x80, 0x20}, vp8Descriptor{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVP8(tc.payload)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestVP8RewriteRoundTrip(t *testing.T) {
	p := vp8Payload(true, true, 0x7ffe, 200, 3)
	d, err := parseVP8(p)
	if err != nil {
		t.Fatal(err)
	}
	buf := append([]byte(nil), p...)
	f := d.fields()
	f.rewrite(buf, 0x0102, 9)
	d2, err := parseVP8(buf)
	if err != nil {
		t.Fatal(err)
	}
	if d2.picID != 0x0102 || d2.tl0 != 9 || !d2.keyframe || d2.headerLen != d.headerLen {
		t.Fatalf("rewritten descriptor %+v", d2)
	}
	if string(buf[d.headerLen:]) != string(p[d.headerLen:]) {
		t.Fatal("rewrite touched the VP8 payload")
	}
}

func FuzzParseVP8(f *testing.F) {
	f.Add(vp8Payload(true, true, 0x1234, 7, 4))
	f.Add([]byte{0x90, 0x80, 0x05, 0x01})
	f.Add([]byte{0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseVP8(b)
		if err != nil {
			return
		}
		if d.headerLen > len(b) {
			t.Fatalf("header length %d beyond payload %d", d.headerLen, len(b))
		}
		buf := append([]byte(nil), b...)
		pf := d.fields()
		pf.rewrite(buf, d.picID, d.tl0)
		if string(buf) != string(b) {
			t.Fatal("rewriting the same values changed the payload")
		}
	})
}
