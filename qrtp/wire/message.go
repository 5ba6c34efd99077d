package wire

// MessageFrame carries one fragment of a message on a message-mode stream.
// A message is delivered whole or not at all; fragments of one message may
// arrive in any order.
//
// Layout: type 0x10 | LEN(0x01), stream ID, message sequence, total message
// length, fragment offset, [fragment length], fragment. Offset + fragment
// length never exceeds the total.
type MessageFrame struct {
	StreamID uint64
	Seq      uint64
	Total    uint64
	Offset   uint64
	Data     []byte
}

// MessageFrameOverhead is the size of a MESSAGE frame's fields before its
// data when it carries an explicit length of dataLen.
func MessageFrameOverhead(id, seq, total, offset uint64, dataLen int) int {
	return 1 + VarintLen(id) + VarintLen(seq) + VarintLen(total) + VarintLen(offset) + VarintLen(uint64(dataLen))
}

// AppendHeader appends the frame's fields up to its data, with an explicit
// fragment length of dataLen; the caller appends the data. f.Data is ignored.
func (f *MessageFrame) AppendHeader(b []byte, dataLen int) []byte {
	b = append(b, byte(FrameMessage)|0x01)
	b = AppendVarint(b, f.StreamID)
	b = AppendVarint(b, f.Seq)
	b = AppendVarint(b, f.Total)
	b = AppendVarint(b, f.Offset)
	return AppendVarint(b, uint64(dataLen))
}

// Append encodes the frame; withLen false omits the fragment length, which
// is only valid for the last frame of a packet.
func (f *MessageFrame) Append(b []byte, withLen bool) []byte {
	if withLen {
		return append(f.AppendHeader(b, len(f.Data)), f.Data...)
	}
	b = append(b, byte(FrameMessage))
	b = AppendVarint(b, f.StreamID)
	b = AppendVarint(b, f.Seq)
	b = AppendVarint(b, f.Total)
	b = AppendVarint(b, f.Offset)
	return append(b, f.Data...)
}

func (f *MessageFrame) parse(r *reader, typ uint64) {
	f.StreamID = r.varint()
	f.Seq = r.varint()
	f.Total = r.varint()
	f.Offset = r.varint()
	if typ&0x01 != 0 {
		f.Data = r.bytes(r.varint())
	} else {
		f.Data = r.rest()
	}
	if r.err == nil && (f.Offset > f.Total || uint64(len(f.Data)) > f.Total-f.Offset) {
		r.fail(ErrRange)
	}
}
