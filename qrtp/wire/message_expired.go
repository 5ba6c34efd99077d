package wire

// MessageExpiredFrame tells the receiver that the sender gave up on messages
// FirstSeq .. FirstSeq+Count-1 of a stream: their deadline could no longer
// be met, so they will not be (re)sent and partial data can be dropped.
//
// Layout: type 0x12, stream ID, first sequence, count (≥ 1).
type MessageExpiredFrame struct {
	StreamID uint64
	FirstSeq uint64
	Count    uint64
}

// Append encodes the frame.
func (f *MessageExpiredFrame) Append(b []byte) []byte {
	b = append(b, byte(FrameMessageExpired))
	b = AppendVarint(b, f.StreamID)
	b = AppendVarint(b, f.FirstSeq)
	return AppendVarint(b, f.Count)
}

func (f *MessageExpiredFrame) parse(r *reader) {
	f.StreamID = r.varint()
	f.FirstSeq = r.varint()
	f.Count = r.varint()
	if r.err == nil && (f.Count == 0 || f.FirstSeq+f.Count > MaxVarint) {
		r.fail(ErrRange)
	}
}
