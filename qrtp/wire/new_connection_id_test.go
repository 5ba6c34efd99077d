package wire

import "testing"

func TestNewConnectionIDFrame(t *testing.T) {
	roundTrip(t, &Frame{Type: FrameNewConnectionID, NewConnectionID: NewConnectionIDFrame{Seq: 3, RetirePriorTo: 2, ID: ConnectionID{9, 9}}})
	var f Frame
	if _, err := ParseFrame(append([]byte{0x18, 1, 2}, make([]byte, 8)...), &f); err == nil {
		t.Error("retire beyond seq accepted")
	}
}

func FuzzNewConnectionIDFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameNewConnectionID, NewConnectionID: NewConnectionIDFrame{Seq: 1, ID: ConnectionID{1}}})
}
