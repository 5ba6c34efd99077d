package wire

import "testing"

func TestPathFrames(t *testing.T) {
	d := [8]byte{1, 1, 2, 3, 5, 8, 13, 21}
	if got := roundTrip(t, &Frame{Type: FramePathChallenge, PathChallenge: PathChallengeFrame{Data: d}}); got.PathChallenge.Data != d {
		t.Error("challenge data")
	}
	if got := roundTrip(t, &Frame{Type: FramePathResponse, PathResponse: PathResponseFrame{Data: d}}); got.PathResponse.Data != d {
		t.Error("response data")
	}
}

func FuzzPathChallengeFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FramePathChallenge, PathChallenge: PathChallengeFrame{Data: [8]byte{1}}})
}

func FuzzPathResponseFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FramePathResponse, PathResponse: PathResponseFrame{Data: [8]byte{1}}})
}
