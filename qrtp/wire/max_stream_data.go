package wire

// MaxStreamDataFrame raises one reliable stream's flow-control limit: the
// peer may send bytes up to offset Max.
//
// Layout: type 0x05, stream ID, maximum.
type MaxStreamDataFrame struct {
	StreamID uint64
	Max      uint64
}

// Append encodes the frame.
func (f *MaxStreamDataFrame) Append(b []byte) []byte {
	b = AppendVarint(append(b, byte(FrameMaxStreamData)), f.StreamID)
	return AppendVarint(b, f.Max)
}

func (f *MaxStreamDataFrame) parse(r *reader) {
	f.StreamID = r.varint()
	f.Max = r.varint()
}
