package qrtp

// relSend is the sending half of a reliable stream: bytes between the
// acknowledged prefix and the application's write offset, which parts are
// acknowledged and which must be sent again.
//
// New data leaves in offset order. A lost range is queued for
// retransmission minus whatever has been acknowledged since, and a late
// ACK of the original removes it from the queue, so bytes are resent only
// while they are believed missing.
type relSend struct {
	ring      byteRing // holds [ring.base, writeOff); ring.base is the acked prefix
	writeOff  uint64
	sentOff   uint64 // next never-sent byte
	acked     rangeSet
	retx      rangeSet
	maxData   uint64 // peer's limit for this stream
	limit     int    // send buffer bound
	finWanted bool
	finSent   bool
	finAcked  bool
	// dup: bytes sent once that go again in a later packet than dupPN
	// (StreamOptions.Redundant).
	dup   rangeSet
	dupPN uint64
}

// maxDupBytes bounds the tail sent twice: one packet's worth.
const maxDupBytes = 1200

// markDup queues a second copy of a tail just sent in packet pn.
func (s *relSend) markDup(c chunk, pn uint64) {
	if c.retx || c.dup || c.fin || c.n == 0 || c.n > maxDupBytes || s.sentOff != s.writeOff {
		return
	}
	s.dup.add(c.off, c.off+uint64(c.n))
	s.dupPN = pn
}

// nextDup picks the second copy of a tail, in a packet after the first.
func (s *relSend) nextDup(room int, pn uint64) (chunk, bool) {
	r, ok := s.dup.first()
	if !ok || pn <= s.dupPN {
		return chunk{}, false
	}
	if r.start < s.ring.base {
		s.dup.removeBelow(s.ring.base)
		if r, ok = s.dup.first(); !ok {
			return chunk{}, false
		}
	}
	n := min(int(r.end-r.start), room)
	if n <= 0 {
		return chunk{}, false
	}
	return chunk{off: r.start, n: n, dup: true}, true
}

func newRelSend(limit int) *relSend {
	return &relSend{limit: limit, maxData: initialStreamWindow}
}

// write copies as much of p as the buffer bound admits.
func (s *relSend) write(p []byte) int {
	room := s.limit - int(s.writeOff-s.ring.base)
	n := min(len(p), max(room, 0))
	if n == 0 {
		return 0
	}
	s.ring.ensure(s.writeOff + uint64(n))
	s.ring.writeAt(s.writeOff, p[:n])
	s.writeOff += uint64(n)
	return n
}

// hasSendable: retransmissions, new bytes the stream window admits, or a FIN.
func (s *relSend) hasSendable() bool {
	return !s.retx.empty() || !s.dup.empty() || (s.sentOff < s.writeOff && s.sentOff < s.maxData) ||
		(s.finWanted && !s.finSent && s.sentOff == s.writeOff)
}

// peekOff is the offset the next frame would start at.
func (s *relSend) peekOff() uint64 {
	if r, ok := s.retx.first(); ok {
		return r.start
	}
	return s.sentOff
}

// chunk is one STREAM frame's worth of data to send.
type chunk struct {
	off  uint64
	n    int
	fin  bool
	retx bool
	dup  bool // a second copy (relSend.dup)
}

// next picks the next frame: the lowest retransmission first, then new
// data limited by room, the stream window and connCredit (connection-level
// credit for new bytes).
func (s *relSend) next(room int, connCredit uint64) (chunk, bool) {
	if r, ok := s.retx.first(); ok {
		n := min(int(r.end-r.start), room)
		if n <= 0 {
			return chunk{}, false
		}
		// A lost FIN is resent on its own once finSent is cleared.
		return chunk{off: r.start, n: n, retx: true}, true
	}
	if s.sentOff < s.writeOff {
		avail := min(s.writeOff-s.sentOff, s.maxData-min(s.maxData, s.sentOff), connCredit)
		n := int(min(avail, uint64(max(room, 0))))
		if n <= 0 {
			return chunk{}, false
		}
		end := s.sentOff + uint64(n)
		return chunk{off: s.sentOff, n: n, fin: s.finWanted && end == s.writeOff}, true
	}
	if s.finWanted && !s.finSent {
		return chunk{off: s.writeOff, fin: true}, true
	}
	return chunk{}, false
}

// sent records that a chunk left; it returns the count of new bytes.
func (s *relSend) sent(c chunk) uint64 {
	end := c.off + uint64(c.n)
	if c.fin {
		s.finSent = true
	}
	if c.dup {
		s.dup.remove(c.off, end)
		return 0
	}
	if c.retx {
		s.retx.remove(c.off, end)
		return 0
	}
	fresh := end - s.sentOff
	s.sentOff = end
	return fresh
}

// read copies sent data for a frame.
func (s *relSend) read(c chunk, dst []byte) {
	s.ring.readAt(c.off, dst[:c.n])
}

// onAck marks a frame's bytes acknowledged and frees the acked prefix. It
// reports whether buffer space was freed.
func (s *relSend) onAck(off uint64, n int, fin bool) bool {
	end := off + uint64(n)
	if fin {
		s.finAcked = true
	}
	if end <= s.ring.base || n == 0 {
		return false
	}
	s.acked.add(max(off, s.ring.base), end)
	s.retx.remove(off, end)
	s.dup.remove(off, end)
	f, _ := s.acked.first()
	if f.start <= s.ring.base && f.end > s.ring.base {
		s.ring.advance(f.end)
		s.acked.removeBelow(f.end)
		return true
	}
	return false
}

// onLost queues a lost frame's bytes that are still unacknowledged.
func (s *relSend) onLost(off uint64, n int, fin bool) {
	if fin && !s.finAcked {
		s.finSent = false
	}
	start, end := max(off, s.ring.base), off+uint64(n)
	if start >= end {
		return
	}
	s.acked.gaps(start, end, func(a, b uint64) { s.retx.add(a, b) })
}

// done: the FIN and every byte before it are acknowledged. (An ACK of
// the FIN's packet alone is not enough: earlier bytes may still be lost
// and need their retransmission.)
func (s *relSend) done() bool { return s.finAcked && s.ring.base == s.writeOff }

// abandon drops everything queued (stream reset).
func (s *relSend) abandon() {
	s.retx.reset()
	s.dup.reset()
	s.writeOff = s.sentOff
	s.finWanted = false
	s.ring.release()
}
