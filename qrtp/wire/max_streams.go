package wire

// MaxStreamsFrame raises how many streams the peer may open: stream sequence
// numbers below Max are allowed.
//
// Layout: type 0x06, maximum.
type MaxStreamsFrame struct{ Max uint64 }

// Append encodes the frame.
func (f *MaxStreamsFrame) Append(b []byte) []byte {
	return AppendVarint(append(b, byte(FrameMaxStreams)), f.Max)
}

func (f *MaxStreamsFrame) parse(r *reader) { f.Max = r.varint() }
