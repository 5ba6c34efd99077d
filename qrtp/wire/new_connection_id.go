package wire

// NewConnectionIDFrame gives the peer another connection ID that reaches the
// sender, numbered by Seq. The peer may switch to it (for instance when its
// own address changes) and must stop using IDs numbered below RetirePriorTo.
//
// Layout: type 0x18, sequence, retire prior to, 8-byte connection ID.
type NewConnectionIDFrame struct {
	Seq           uint64
	RetirePriorTo uint64
	ID            ConnectionID
}

// Append encodes the frame.
func (f *NewConnectionIDFrame) Append(b []byte) []byte {
	b = AppendVarint(append(b, byte(FrameNewConnectionID)), f.Seq)
	b = AppendVarint(b, f.RetirePriorTo)
	return append(b, f.ID[:]...)
}

func (f *NewConnectionIDFrame) parse(r *reader) {
	f.Seq = r.varint()
	f.RetirePriorTo = r.varint()
	copy(f.ID[:], r.bytes(ConnIDLen))
	if r.err == nil && f.RetirePriorTo > f.Seq {
		r.fail(ErrRange)
	}
}
