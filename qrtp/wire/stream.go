package wire

// StreamFrame carries bytes of a reliable, ordered stream.
//
// Layout: type 0x08 | OFF(0x04) | LEN(0x02) | FIN(0x01), stream ID,
// [offset], [length], data. Without LEN the data runs to the end of the
// packet; without OFF the offset is 0.
type StreamFrame struct {
	StreamID uint64
	Offset   uint64
	Fin      bool
	Data     []byte
}

// StreamFrameOverhead is the size of a STREAM frame's fields before its data
// when it carries an explicit length of dataLen.
func StreamFrameOverhead(id, offset uint64, dataLen int) int {
	n := 1 + VarintLen(id) + VarintLen(uint64(dataLen))
	if offset != 0 {
		n += VarintLen(offset)
	}
	return n
}

// AppendHeader appends the frame's fields up to its data, with an explicit
// length of dataLen; the caller appends exactly dataLen bytes of data
// (letting it copy them straight from its send buffer). f.Data is ignored.
func (f *StreamFrame) AppendHeader(b []byte, dataLen int) []byte {
	typ := byte(FrameStream) | 0x02
	if f.Offset != 0 {
		typ |= 0x04
	}
	if f.Fin {
		typ |= 0x01
	}
	b = append(b, typ)
	b = AppendVarint(b, f.StreamID)
	if f.Offset != 0 {
		b = AppendVarint(b, f.Offset)
	}
	return AppendVarint(b, uint64(dataLen))
}

// Append encodes the frame; withLen false omits the length, which is only
// valid for the last frame of a packet.
func (f *StreamFrame) Append(b []byte, withLen bool) []byte {
	if withLen {
		return append(f.AppendHeader(b, len(f.Data)), f.Data...)
	}
	typ := byte(FrameStream)
	if f.Offset != 0 {
		typ |= 0x04
	}
	if f.Fin {
		typ |= 0x01
	}
	b = AppendVarint(append(b, typ), f.StreamID)
	if f.Offset != 0 {
		b = AppendVarint(b, f.Offset)
	}
	return append(b, f.Data...)
}

func (f *StreamFrame) parse(r *reader, typ uint64) {
	f.StreamID = r.varint()
	f.Offset = 0
	if typ&0x04 != 0 {
		f.Offset = r.varint()
	}
	if typ&0x02 != 0 {
		f.Data = r.bytes(r.varint())
	} else {
		f.Data = r.rest()
	}
	f.Fin = typ&0x01 != 0
	if r.err == nil && f.Offset+uint64(len(f.Data)) > MaxVarint {
		r.fail(ErrRange)
	}
}
