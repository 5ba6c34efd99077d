package wire

// StreamResetFrame ends the sending half of a stream early (or, with code 0
// on message and datagram streams, normally). FinalSize is the final byte
// offset of a reliable stream or the next unused message sequence.
//
// Layout: type 0x03, stream ID, error code, final size.
type StreamResetFrame struct {
	StreamID  uint64
	Code      uint64
	FinalSize uint64
}

// Append encodes the frame.
func (f *StreamResetFrame) Append(b []byte) []byte {
	b = AppendVarint(append(b, byte(FrameStreamReset)), f.StreamID)
	b = AppendVarint(b, f.Code)
	return AppendVarint(b, f.FinalSize)
}

func (f *StreamResetFrame) parse(r *reader) {
	f.StreamID = r.varint()
	f.Code = r.varint()
	f.FinalSize = r.varint()
}
