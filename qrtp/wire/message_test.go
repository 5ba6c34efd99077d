package wire

import (
	"errors"
	"testing"
)

func TestMessageFrame(t *testing.T) {
	m := MessageFrame{StreamID: 6, Seq: 1 << 33, Total: 5000, Offset: 4000, Data: make([]byte, 1000)}
	b := m.Append(nil, true)
	if want := MessageFrameOverhead(m.StreamID, m.Seq, m.Total, m.Offset, len(m.Data)) + len(m.Data); len(b) != want {
		t.Errorf("len %d want %d", len(b), want)
	}
	roundTrip(t, &Frame{Type: FrameMessage, Message: m})
	// A fragment past the end of its message is malformed.
	m.Offset = 4500
	var f Frame
	if _, err := ParseFrame(m.Append(nil, true), &f); !errors.Is(err, ErrRange) {
		t.Errorf("overrun: %v", err)
	}
}

func FuzzMessageFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameMessage, Message: MessageFrame{StreamID: 6, Seq: 2, Total: 10, Offset: 4, Data: []byte("abcd")}})
}
