package wire

// AppendPing appends a PING frame: one type byte. It only asks for an ACK
// (keep-alives, probes, RTT samples).
func AppendPing(b []byte) []byte { return append(b, byte(FramePing)) }
