package wire

// FrameType identifies a frame. STREAM, MESSAGE and DATAGRAM carry flag bits
// in their type byte; Frame.Type holds the canonical (flagless) value.
type FrameType uint64

// Frame types.
const (
	FramePadding         FrameType = 0x00
	FramePing            FrameType = 0x01
	FrameAck             FrameType = 0x02
	FrameStreamReset     FrameType = 0x03
	FrameMaxData         FrameType = 0x04
	FrameMaxStreamData   FrameType = 0x05
	FrameMaxStreams      FrameType = 0x06
	FrameConnectionClose FrameType = 0x07
	FrameStream          FrameType = 0x08 // 0x08..0x0f: | OFF 0x04 | LEN 0x02 | FIN 0x01
	FrameMessage         FrameType = 0x10 // 0x10..0x11: | LEN 0x01
	FrameMessageExpired  FrameType = 0x12
	FrameDatagram        FrameType = 0x14 // 0x14..0x15: | LEN 0x01
	FrameNewConnectionID FrameType = 0x18
	FramePathChallenge   FrameType = 0x1a
	FramePathResponse    FrameType = 0x1b
	FrameFECRepair       FrameType = 0x1c
	FrameFECRecovered    FrameType = 0x1d
)

// AckEliciting reports whether a packet carrying this frame must be
// acknowledged. PADDING, ACK, FEC_RECOVERED (acknowledgement information
// like ACK) and CONNECTION_CLOSE do not ask for one.
func (t FrameType) AckEliciting() bool {
	return t != FramePadding && t != FrameAck && t != FrameFECRecovered && t != FrameConnectionClose
}

// Frame is one decoded frame: the field matching Type is set, the others
// hold whatever an earlier parse left. Keep one Frame per parsing loop and
// reuse it; decoding then never allocates (byte slices alias the input and
// bounded slices reuse their capacity).
type Frame struct {
	Type            FrameType
	Padding         int // number of PADDING bytes skipped
	Ack             AckFrame
	Stream          StreamFrame
	Message         MessageFrame
	MessageExpired  MessageExpiredFrame
	Datagram        DatagramFrame
	MaxData         MaxDataFrame
	MaxStreamData   MaxStreamDataFrame
	MaxStreams      MaxStreamsFrame
	StreamReset     StreamResetFrame
	Close           ConnectionCloseFrame
	NewConnectionID NewConnectionIDFrame
	PathChallenge   PathChallengeFrame
	PathResponse    PathResponseFrame
	FECRepair       FECRepairFrame
	FECRecovered    FECRecoveredFrame
}

// ParseFrame decodes the frame at the front of b into f and returns the
// number of bytes it took. It only reads the type and hands the rest to the
// frame's own parser.
func ParseFrame(b []byte, f *Frame) (int, error) {
	typ, n, err := ParseVarint(b)
	if err != nil {
		return 0, err
	}
	r := reader{b: b, off: n}
	switch {
	case typ == uint64(FramePadding):
		f.Type = FramePadding
		f.Padding = parsePadding(&r)
	case typ == uint64(FramePing):
		f.Type = FramePing
	case typ == uint64(FrameAck):
		f.Type = FrameAck
		f.Ack.parse(&r)
	case typ == uint64(FrameStreamReset):
		f.Type = FrameStreamReset
		f.StreamReset.parse(&r)
	case typ == uint64(FrameMaxData):
		f.Type = FrameMaxData
		f.MaxData.parse(&r)
	case typ == uint64(FrameMaxStreamData):
		f.Type = FrameMaxStreamData
		f.MaxStreamData.parse(&r)
	case typ == uint64(FrameMaxStreams):
		f.Type = FrameMaxStreams
		f.MaxStreams.parse(&r)
	case typ == uint64(FrameConnectionClose):
		f.Type = FrameConnectionClose
		f.Close.parse(&r)
	case typ&^7 == uint64(FrameStream):
		f.Type = FrameStream
		f.Stream.parse(&r, typ)
	case typ&^1 == uint64(FrameMessage):
		f.Type = FrameMessage
		f.Message.parse(&r, typ)
	case typ == uint64(FrameMessageExpired):
		f.Type = FrameMessageExpired
		f.MessageExpired.parse(&r)
	case typ&^1 == uint64(FrameDatagram):
		f.Type = FrameDatagram
		f.Datagram.parse(&r, typ)
	case typ == uint64(FrameNewConnectionID):
		f.Type = FrameNewConnectionID
		f.NewConnectionID.parse(&r)
	case typ == uint64(FramePathChallenge):
		f.Type = FramePathChallenge
		copy(f.PathChallenge.Data[:], r.bytes(8))
	case typ == uint64(FramePathResponse):
		f.Type = FramePathResponse
		copy(f.PathResponse.Data[:], r.bytes(8))
	case typ == uint64(FrameFECRepair):
		f.Type = FrameFECRepair
		f.FECRepair.parse(&r)
	case typ == uint64(FrameFECRecovered):
		f.Type = FrameFECRecovered
		f.FECRecovered.parse(&r)
	default:
		return 0, ErrUnknownFrame
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.off, nil
}

// Append encodes the frame named by f.Type (always with explicit lengths),
// for tests and for code that handles frames generically.
func (f *Frame) Append(b []byte) []byte {
	switch f.Type {
	case FramePadding:
		return AppendPadding(b, max(f.Padding, 1))
	case FramePing:
		return AppendPing(b)
	case FrameAck:
		return f.Ack.Append(b)
	case FrameStreamReset:
		return f.StreamReset.Append(b)
	case FrameMaxData:
		return f.MaxData.Append(b)
	case FrameMaxStreamData:
		return f.MaxStreamData.Append(b)
	case FrameMaxStreams:
		return f.MaxStreams.Append(b)
	case FrameConnectionClose:
		return f.Close.Append(b)
	case FrameStream:
		return f.Stream.Append(b, true)
	case FrameMessage:
		return f.Message.Append(b, true)
	case FrameMessageExpired:
		return f.MessageExpired.Append(b)
	case FrameDatagram:
		return f.Datagram.Append(b, true)
	case FrameNewConnectionID:
		return f.NewConnectionID.Append(b)
	case FramePathChallenge:
		return f.PathChallenge.Append(b)
	case FramePathResponse:
		return f.PathResponse.Append(b)
	case FrameFECRepair:
		return f.FECRepair.Append(b)
	case FrameFECRecovered:
		return f.FECRecovered.Append(b)
	}
	return b
}
