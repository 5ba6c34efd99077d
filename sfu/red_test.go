package sfu

import (
	"bytes"
	"testing"
)

// redPayload builds an RFC 2198 payload: redundant blocks (oldest first)
// with their timestamp offsets, then the primary block.
func redPayload(pt uint8, offsets []uint16, redundant [][]byte, primary []byte) []byte {
	var p []byte
	for i, r := range redundant {
		p = append(p, 0x80|pt, byte(offsets[i]>>6), byte(offsets[i]<<2)|byte(len(r)>>8), byte(len(r)))
	}
	p = append(p, pt)
	for _, r := range redundant {
		p = append(p, r...)
	}
	return append(p, primary...)
}

func TestParseRED(t *testing.T) {
	old1, old2, prim := []byte("older"), []byte("old"), []byte("primary!")
	p := redPayload(111, []uint16{1920, 960}, [][]byte{old1, old2}, prim)
	blocks, err := parseRED(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 {
		t.Fatalf("%d blocks", len(blocks))
	}
	want := []struct {
		off  uint16
		data []byte
	}{{1920, old1}, {960, old2}, {0, prim}}
	for i, w := range want {
		if blocks[i].pt != 111 || blocks[i].tsOffset != w.off || !bytes.Equal(blocks[i].data, w.data) {
			t.Fatalf("block %d: %+v", i, blocks[i])
		}
	}
	buf := append([]byte(nil), p...)
	setREDPayloadTypes(buf, blocks, 100)
	b2, err := parseRED(buf, blocks)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range b2 {
		if b.pt != 100 {
			t.Fatalf("pt not rewritten: %+v", b)
		}
	}
	if !bytes.Equal(b2[2].data, prim) {
		t.Fatal("payload changed by pt rewrite")
	}
}

func TestParseREDPrimaryOnly(t *testing.T) {
	blocks, err := parseRED([]byte{111, 1, 2, 3}, nil)
	if err != nil || len(blocks) != 1 || !bytes.Equal(blocks[0].data, []byte{1, 2, 3}) {
		t.Fatalf("%v %+v", err, blocks)
	}
}

func TestParseREDErrors(t *testing.T) {
	tests := map[string][]byte{
		"empty":              {},
		"header cut":         {0x80 | 111, 0, 0},
		"no primary header":  {0x80 | 111, 0, 0, 0},
		"lengths too large":  {0x80 | 111, 0, 0, 10, 111, 1, 2},
		"too many redundant": bytes.Repeat([]byte{0x80 | 111, 0, 0, 0}, maxREDBlocks+1),
	}
	for name, p := range tests {
		if _, err := parseRED(p, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseRED(f *testing.F) {
	f.Add(redPayload(111, []uint16{960}, [][]byte{[]byte("a")}, []byte("bb")))
	f.Add([]byte{111})
	f.Add([]byte{0x80 | 111, 0, 0, 10, 111, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		blocks, err := parseRED(b, nil)
		if err != nil {
			return
		}
		total := 0
		for _, bl := range blocks {
			total += len(bl.data)
		}
		hdr := 4*(len(blocks)-1) + 1
		if total+hdr != len(b) {
			t.Fatalf("blocks cover %d+%d bytes of %d", total, hdr, len(b))
		}
		if blocks[len(blocks)-1].tsOffset != 0 {
			t.Fatal("primary with a timestamp offset")
		}
	})
}
