package trunk

import "time"

// reorder restores RTP sequence order before packets from a trunk enter the
// local SFU. QRTP delivers a message as soon as it completes, so a packet
// rebuilt from FEC or retransmitted arrives after its successors. Handed to
// the SFU out of order, the gap makes the subscriber's browser NACK a packet
// the SFU does not have yet and then ask for a key frame; held back briefly,
// the repaired stream looks like a clean one. A gap that stays open for hold
// (Trunk.holdFor: what FEC needs along the path, and in live rooms a
// retransmission round) is skipped, so the added delay is bounded and is
// paid only after a loss; a packet that comes after its gap was skipped
// still goes to the SFU, which forwards it.
type reorder struct {
	started bool
	next    uint16 // the next sequence number to release
	held    map[uint16]heldPacket
	since   time.Time // arrival of the earliest held packet: the front gap is open since then
}

type heldPacket struct {
	b  []byte
	at time.Time
}

// reorderWindow bounds what is held: a jump further ahead than this resets
// the order (a new stream, or a long outage).
const reorderWindow = 512

// push takes one packet and releases, in order, every packet that can go.
func (r *reorder) push(now time.Time, seq uint16, b []byte, emit func([]byte)) {
	if !r.started {
		r.started, r.next, r.held = true, seq, map[uint16]heldPacket{}
	}
	d := int16(seq - r.next)
	switch {
	case d < 0:
		// Older than what was released: a repair after its gap was
		// skipped. The SFU caches it, so a subscriber's NACK can still be
		// answered.
		emit(b)
	case d == 0:
		emit(b)
		r.next++
		r.drain(emit)
	case int(d) >= reorderWindow:
		r.flush(emit)
		r.next = seq + 1
		emit(b)
	default:
		if _, dup := r.held[seq]; !dup {
			if len(r.held) == 0 {
				r.since = now
			}
			r.held[seq] = heldPacket{b: b, at: now}
		}
	}
}

// drain releases consecutive held packets from next on.
func (r *reorder) drain(emit func([]byte)) {
	for {
		h, ok := r.held[r.next]
		if !ok {
			break
		}
		delete(r.held, r.next)
		emit(h.b)
		r.next++
	}
	// The next gap has been open since the earliest packet behind it came.
	r.since = time.Time{}
	for _, h := range r.held {
		if r.since.IsZero() || h.at.Before(r.since) {
			r.since = h.at
		}
	}
}

// expire skips gaps that have been waited on for hold, releasing what
// follows them. It returns when the next gap will expire (zero: none held).
func (r *reorder) expire(now time.Time, hold time.Duration, emit func([]byte)) time.Time {
	for len(r.held) > 0 && now.Sub(r.since) >= hold {
		// Skip to the oldest held packet.
		oldest, best := r.next, int16(0)
		for s := range r.held {
			if d := int16(s - r.next); best == 0 || d < best {
				oldest, best = s, d
			}
		}
		r.next = oldest
		r.drain(emit)
	}
	if len(r.held) == 0 {
		return time.Time{}
	}
	return r.since.Add(hold)
}

// restart releases everything held, in order, and waits for no gap
// before the next packet: after a change of upstream the packets lost in
// the switch will not come, and waiting for them would only delay the
// new route's first frames.
func (r *reorder) restart(emit func([]byte)) {
	r.flush(emit)
	r.started = false
}

// flush releases everything held, in order, and forgets the gaps.
func (r *reorder) flush(emit func([]byte)) {
	for len(r.held) > 0 {
		oldest, best := r.next, int16(0)
		for s := range r.held {
			if d := int16(s - r.next); best == 0 || d < best {
				oldest, best = s, d
			}
		}
		emit(r.held[oldest].b)
		delete(r.held, oldest)
		r.next = oldest + 1
	}
}
