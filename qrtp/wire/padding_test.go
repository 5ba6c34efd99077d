package wire

import "testing"

func TestPaddingAndPing(t *testing.T) {
	b := AppendPing(AppendPadding(nil, 10))
	var f Frame
	n, err := ParseFrame(b, &f)
	if err != nil || n != 10 || f.Type != FramePadding || f.Padding != 10 {
		t.Fatalf("padding: %d %v %+v", n, err, f.Padding)
	}
	n, err = ParseFrame(b[n:], &f)
	if err != nil || n != 1 || f.Type != FramePing {
		t.Fatalf("ping: %d %v", n, err)
	}
	if !FramePing.AckEliciting() || FramePadding.AckEliciting() || FrameAck.AckEliciting() {
		t.Error("ack-eliciting classes")
	}
}

func FuzzPaddingAndPing(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FramePadding, Padding: 3}, &Frame{Type: FramePing})
}
