package wire

import "testing"

// MAX_DATA, MAX_STREAM_DATA and MAX_STREAMS are each one or two varints.

func TestFlowControlFrames(t *testing.T) {
	roundTrip(t, &Frame{Type: FrameMaxData, MaxData: MaxDataFrame{Max: MaxVarint}})
	roundTrip(t, &Frame{Type: FrameMaxStreamData, MaxStreamData: MaxStreamDataFrame{StreamID: 1, Max: 0}})
	roundTrip(t, &Frame{Type: FrameMaxStreams, MaxStreams: MaxStreamsFrame{Max: 1000}})
}

func FuzzMaxDataFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameMaxData, MaxData: MaxDataFrame{Max: 77}})
}

func FuzzMaxStreamDataFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameMaxStreamData, MaxStreamData: MaxStreamDataFrame{StreamID: 3, Max: 77}})
}

func FuzzMaxStreamsFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameMaxStreams, MaxStreams: MaxStreamsFrame{Max: 77}})
}
