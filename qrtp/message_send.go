package qrtp

import "time"

// outMsg is one message waiting to be delivered.
type outMsg struct {
	seq      uint64
	data     []byte
	deadline time.Time
	sentOff  int  // next never-sent byte
	sentAny  bool // for empty messages
	acked    rangeSet
	retx     rangeSet
	done     bool // delivered or expired
	more     bool // more of its unit follow: its end does not seal FEC groups
}

// msgSend is the sending half of a message stream. Messages stay queued
// by sequence until every byte is acknowledged or they expire; lookups by
// sequence are O(1) (index = seq - first queued seq).
type msgSend struct {
	q []*outMsg
	// base is the sequence of q[0] (when q is not empty): get finds a
	// message without reading the head message, a cache miss per ACKed
	// fragment on a node with thousands of streams.
	base    uint64
	nextSeq uint64
	cursor  int // index of the first message with never-sent bytes
	queued  int // bytes of unresolved messages
	limit   int
	retxN   int // messages with a non-empty retx set
	// expired lists sequences given up on and not yet announced.
	expired []span
	free    []*outMsg
	// unitPackets counts the packets of the FEC unit being sent (see
	// fecSend.framed).
	unitPackets int
	unitSince   time.Time
	unitListed  bool // in fecSend.open
}

func newMsgSend(limit int) *msgSend { return &msgSend{limit: limit} }

func (s *msgSend) push(p []byte, deadline time.Time, more bool) (uint64, error) {
	if s.queued+len(p) > s.limit && s.queued > 0 {
		return 0, ErrBufferFull
	}
	var m *outMsg
	if n := len(s.free); n > 0 {
		m, s.free = s.free[n-1], s.free[:n-1]
	} else {
		m = &outMsg{}
	}
	*m = outMsg{seq: s.nextSeq, data: append(m.data[:0], p...), deadline: deadline, more: more,
		acked: rangeSet{s: m.acked.s[:0]}, retx: rangeSet{s: m.retx.s[:0]}}
	if len(s.q) == 0 {
		s.base = m.seq
	}
	s.nextSeq++
	s.q = append(s.q, m)
	s.queued += len(p)
	return m.seq, nil
}

func (s *msgSend) get(seq uint64) *outMsg {
	if seq < s.base || seq-s.base >= uint64(len(s.q)) {
		return nil
	}
	m := s.q[seq-s.base]
	if m.done {
		return nil
	}
	return m
}

func (s *msgSend) hasSendable() bool {
	return s.retxN > 0 || s.cursor < len(s.q) || len(s.expired) > 0
}

// inTime is the retransmission rule: data is worth sending only while it
// can still arrive before the deadline.
func inTime(now time.Time, srtt time.Duration, deadline time.Time) bool {
	return now.Add(srtt / 2).Before(deadline)
}

// fragment is one MESSAGE frame's worth of a message.
type fragment struct {
	m    *outMsg
	off  int
	n    int
	retx bool
}

// next picks the next fragment: retransmissions first, then new bytes in
// sequence order. Messages that can no longer arrive in time are expired
// on the way (expire is called for each). room gives the data room a
// fragment of m would have in the packet.
func (s *msgSend) next(now time.Time, srtt time.Duration, room func(m *outMsg) int, expire func(*outMsg)) (fragment, sendStatus) {
	if s.retxN > 0 {
		for i := 0; i < len(s.q); i++ {
			m := s.q[i]
			if m.done || m.retx.empty() {
				continue
			}
			if !inTime(now, srtt, m.deadline) {
				i = s.expireAt(i, m, expire)
				continue
			}
			r, _ := m.retx.first()
			n := min(int(r.end-r.start), room(m))
			if n <= 0 {
				return fragment{}, sendNoRoom
			}
			return fragment{m: m, off: int(r.start), n: n, retx: true}, sendWrote
		}
	}
	for s.cursor < len(s.q) {
		m := s.q[s.cursor]
		if m.done || (m.sentAny && m.sentOff >= len(m.data)) {
			s.cursor++
			continue
		}
		if !inTime(now, srtt, m.deadline) {
			expire(m) // resolve pops resolved messages and moves the cursor
			continue
		}
		r := room(m)
		n := min(len(m.data)-m.sentOff, r)
		if r <= 0 || (n <= 0 && len(m.data) > 0) {
			return fragment{}, sendNoRoom
		}
		return fragment{m: m, off: m.sentOff, n: n}, sendWrote
	}
	return fragment{}, sendIdle
}

// expireDue expires messages that can no longer arrive in time: unsent
// ones from the cursor on, and ones waiting for retransmission.
func (s *msgSend) expireDue(now time.Time, srtt time.Duration, expire func(*outMsg)) {
	for i := 0; i < len(s.q); i++ {
		m := s.q[i]
		if m.done || inTime(now, srtt, m.deadline) {
			continue
		}
		if unsent := !m.sentAny || m.sentOff < len(m.data); unsent || !m.retx.empty() {
			i = s.expireAt(i, m, expire)
		}
	}
}

// expireAt expires m, found at index i, and returns the index to continue
// a forward scan from (resolve pops resolved messages off the front).
func (s *msgSend) expireAt(i int, m *outMsg, expire func(*outMsg)) int {
	before := len(s.q)
	expire(m)
	return max(i-(before-len(s.q)), -1)
}

// sent records that a fragment left.
func (s *msgSend) sent(f fragment) {
	m := f.m
	if f.retx {
		m.retx.remove(uint64(f.off), uint64(f.off+f.n))
		if m.retx.empty() {
			s.retxN--
		}
		return
	}
	m.sentAny = true
	m.sentOff = f.off + f.n
}

// onAck marks a fragment acknowledged; it reports whether the message is
// now complete (and resolved).
func (s *msgSend) onAck(seq uint64, off, n int) *outMsg {
	m := s.get(seq)
	if m == nil {
		return nil
	}
	if off == 0 && n == len(m.data) && m.retx.empty() {
		return m // sent whole in one fragment: complete, no range to keep
	}
	m.acked.add(uint64(off), uint64(off+n))
	if !m.retx.empty() {
		m.retx.remove(uint64(off), uint64(off+n))
		if m.retx.empty() {
			s.retxN--
		}
	}
	if len(m.data) == 0 || m.acked.covers(0, uint64(len(m.data))) {
		return m
	}
	return nil
}

// onLost queues a lost fragment again; it reports false if the message
// must expire instead (deadline unreachable or retransmission disabled).
func (s *msgSend) onLost(now time.Time, srtt time.Duration, retransmit bool, seq uint64, off, n int) (*outMsg, bool) {
	m := s.get(seq)
	if m == nil {
		return nil, true
	}
	if !retransmit || !inTime(now, srtt, m.deadline) {
		return m, false
	}
	if len(m.data) == 0 {
		m.sentAny, m.sentOff = false, 0
		s.cursor = min(s.cursor, int(seq-s.base))
		return m, true
	}
	was := m.retx.empty()
	m.acked.gaps(uint64(off), uint64(off+n), func(a, b uint64) { m.retx.add(a, b) })
	if was && !m.retx.empty() {
		s.retxN++
	}
	return m, true
}

// resolve removes a delivered or expired message; expired ones are queued
// for MESSAGE_EXPIRED.
func (s *msgSend) resolve(m *outMsg, expired bool) {
	if m.done {
		return
	}
	m.done = true
	s.queued -= len(m.data)
	if !m.retx.empty() {
		s.retxN--
		m.retx.reset()
	}
	if expired {
		if n := len(s.expired); n > 0 && s.expired[n-1].end == m.seq {
			s.expired[n-1].end++
		} else {
			s.expired = append(s.expired, span{m.seq, m.seq + 1})
		}
	}
	// Pop resolved messages from the front, recycling them.
	for len(s.q) > 0 && s.q[0].done {
		s.free = append(s.free, s.q[0])
		s.q[0] = nil
		s.q = s.q[1:]
		s.base++
		s.cursor = max(s.cursor-1, 0)
	}
	if len(s.free) > 64 {
		s.free = s.free[:64]
	}
}

// nextDeadline is the earliest deadline among messages not yet fully
// sent, so the connection can expire them even if never scheduled. A
// message sent whole and waiting for its ACK is not one: expireDue leaves
// it alone, and counting it (the cursor moves past it only when the
// scheduler next serves the stream, which a full congestion window delays)
// kept the timer in the past, polling in a busy loop while the peer was
// silent.
func (s *msgSend) nextDeadline() time.Time {
	for i := s.cursor; i < len(s.q); i++ {
		m := s.q[i]
		if !m.done && (!m.sentAny || m.sentOff < len(m.data)) {
			return m.deadline
		}
	}
	return time.Time{}
}

// abandon drops every queued message (stream reset) without announcing.
func (s *msgSend) abandon() {
	for _, m := range s.q {
		m.done = true
	}
	s.q, s.cursor, s.queued, s.retxN = s.q[:0], 0, 0, 0
}
