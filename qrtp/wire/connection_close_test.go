package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestConnectionCloseFrame(t *testing.T) {
	got := roundTrip(t, &Frame{Type: FrameConnectionClose, Close: ConnectionCloseFrame{Code: 1, Reason: []byte("idle")}})
	if string(got.Close.Reason) != "idle" {
		t.Fatal(got.Close)
	}
	// Encoding cuts an oversized reason; decoding rejects one.
	long := bytes.Repeat([]byte{'a'}, MaxReasonLen+10)
	b := (&ConnectionCloseFrame{Reason: long}).Append(nil)
	var f Frame
	if _, err := ParseFrame(b, &f); err != nil || len(f.Close.Reason) != MaxReasonLen {
		t.Fatalf("cut: %v %d", err, len(f.Close.Reason))
	}
	bad := append([]byte{0x07, 0, 0x42, 0x10}, long...) // length 528
	if _, err := ParseFrame(bad, &f); !errors.Is(err, ErrRange) {
		t.Fatalf("oversize accepted: %v", err)
	}
}

func FuzzConnectionCloseFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameConnectionClose, Close: ConnectionCloseFrame{Code: 1, Reason: []byte("x")}})
}
