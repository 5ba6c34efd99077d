package trunk

// fecUnit decides which RTP packets of a layer QRTP protects as one FEC
// group, by telling fanOut whether more packets of the same unit follow
// (qrtp.Stream.SendMessageMore). QRTP seals a group at the end of every
// message; sent one packet per message, each packet would be a group of
// its own and each repair a copy of its packet. A video frame, which a
// subscriber can only decode whole, is the natural unit: it ends at the
// RTP marker bit. Audio packets are units of one.
//
// On a forwarding node a frame's packets do not all arrive in order: a
// packet lost on the previous hop and rebuilt from that hop's repairs
// arrives a few milliseconds after the frame's last packet. Sealing the
// group at the marker would send each such packet alone, with repairs that
// copy it whole, which at 20% loss doubles the next hop's FEC. So a frame
// with packets missing keeps its group open until they arrive; packets
// that never do (expired upstream) are given up on when the next frame
// starts, and QRTP's group delay seals the group meanwhile.
type fecUnit struct {
	started bool
	top     uint16 // newest sequence number sent
	missing int    // sequence numbers skipped in the open unit, not yet arrived
	ended   bool   // the open unit's last packet (marker) was sent
	inFrame bool   // a frame is in progress: its marker has not been sent
}

// maxSkip bounds the gap counted as missing packets; a longer jump is a
// new stream or an outage, not packets to wait for.
const maxSkip = 64

// more takes the next packet sent downstream and reports whether more
// packets of its unit follow.
func (u *fecUnit) more(seq uint16, marker, video bool) bool {
	if !u.started {
		u.started, u.top = true, seq-1
	}
	if d := int16(seq - u.top); d > 0 {
		if u.ended {
			// A new frame: what the last one still missed expired.
			u.missing, u.ended = 0, false
		}
		if d <= maxSkip {
			u.missing += int(d) - 1
		} else {
			u.missing = 0
		}
		u.top = seq
		switch {
		case !video:
			u.missing, u.inFrame = 0, false
			return false
		case !marker:
			u.inFrame = true
			return true
		}
		u.inFrame = false
		if u.missing == 0 {
			return false
		}
		u.ended = true
		return true
	}
	// A late packet: rebuilt or retransmitted on the previous hop.
	if u.missing > 0 {
		u.missing--
	}
	switch {
	case !video:
		return false
	case u.missing > 0:
		return true
	case u.ended:
		u.ended = false
		return false
	}
	return u.inFrame
}
