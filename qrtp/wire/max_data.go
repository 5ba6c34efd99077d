package wire

// MaxDataFrame raises the connection's flow-control limit: the peer may send
// reliable stream bytes (summed over streams) up to Max.
//
// Layout: type 0x04, maximum.
type MaxDataFrame struct{ Max uint64 }

// Append encodes the frame.
func (f *MaxDataFrame) Append(b []byte) []byte {
	return AppendVarint(append(b, byte(FrameMaxData)), f.Max)
}

func (f *MaxDataFrame) parse(r *reader) { f.Max = r.varint() }
