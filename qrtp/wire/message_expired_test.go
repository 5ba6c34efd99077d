package wire

import "testing"

func TestMessageExpiredFrame(t *testing.T) {
	got := roundTrip(t, &Frame{Type: FrameMessageExpired, MessageExpired: MessageExpiredFrame{StreamID: 2, FirstSeq: 100, Count: 5}})
	if got.MessageExpired.Count != 5 {
		t.Fatal(got.MessageExpired)
	}
	var f Frame
	if _, err := ParseFrame([]byte{0x12, 2, 1, 0}, &f); err == nil {
		t.Error("count 0 accepted")
	}
}

func FuzzMessageExpiredFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameMessageExpired, MessageExpired: MessageExpiredFrame{StreamID: 2, FirstSeq: 1, Count: 1}})
}
