package wire

import "testing"

func TestStreamResetFrame(t *testing.T) {
	roundTrip(t, &Frame{Type: FrameStreamReset, StreamReset: StreamResetFrame{StreamID: 5, Code: 0, FinalSize: 12345}})
}

func FuzzStreamResetFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameStreamReset, StreamReset: StreamResetFrame{StreamID: 5, Code: 2, FinalSize: 9}})
}
