package wire

// DatagramFrame carries one unreliable datagram of a datagram-mode stream.
// It is never retransmitted.
//
// Layout: type 0x14 | LEN(0x01), stream ID, [length], data.
type DatagramFrame struct {
	StreamID uint64
	Data     []byte
}

// DatagramFrameOverhead is the size of a DATAGRAM frame's fields before its
// data when it carries an explicit length of dataLen.
func DatagramFrameOverhead(id uint64, dataLen int) int {
	return 1 + VarintLen(id) + VarintLen(uint64(dataLen))
}

// Append encodes the frame; withLen false omits the length, which is only
// valid for the last frame of a packet.
func (f *DatagramFrame) Append(b []byte, withLen bool) []byte {
	typ := byte(FrameDatagram)
	if withLen {
		typ |= 0x01
	}
	b = append(b, typ)
	b = AppendVarint(b, f.StreamID)
	if withLen {
		b = AppendVarint(b, uint64(len(f.Data)))
	}
	return append(b, f.Data...)
}

func (f *DatagramFrame) parse(r *reader, typ uint64) {
	f.StreamID = r.varint()
	if typ&0x01 != 0 {
		f.Data = r.bytes(r.varint())
	} else {
		f.Data = r.rest()
	}
}
