package wire

// ConnectionCloseFrame closes the connection with an error code and a short
// human-readable reason (at most MaxReasonLen bytes).
//
// Layout: type 0x07, error code, reason length, reason.
type ConnectionCloseFrame struct {
	Code   uint64
	Reason []byte
}

// Append encodes the frame, cutting the reason to MaxReasonLen.
func (f *ConnectionCloseFrame) Append(b []byte) []byte {
	reason := f.Reason[:min(len(f.Reason), MaxReasonLen)]
	b = AppendVarint(append(b, byte(FrameConnectionClose)), f.Code)
	b = AppendVarint(b, uint64(len(reason)))
	return append(b, reason...)
}

func (f *ConnectionCloseFrame) parse(r *reader) {
	f.Code = r.varint()
	n := r.varint()
	if n > MaxReasonLen {
		r.fail(ErrRange)
		return
	}
	f.Reason = r.bytes(n)
}
