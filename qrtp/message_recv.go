package qrtp

// inMsg is a message being reassembled.
type inMsg struct {
	buf []byte
	got rangeSet
}

// msgRecv is the receiving half of a message stream: messages being
// reassembled, complete messages not yet read, and the sequences already
// resolved (delivered or expired) so duplicates are ignored.
type msgRecv struct {
	partial  map[uint64]*inMsg
	resolved rangeSet
	ready    []Message
	readyAt  int
	buffered int
	limit    int
	final    uint64
	hasFinal bool
	dropped  uint64
}

func newMsgRecv(limit int) *msgRecv {
	return &msgRecv{partial: make(map[uint64]*inMsg), limit: limit}
}

// onFragment stores a fragment. budget is the connection's remaining
// message buffer. It returns the growth of buffered bytes and whether a
// message completed.
func (r *msgRecv) onFragment(seq, total, off uint64, data []byte, budget int) (grew int, complete bool) {
	if r.resolved.contains(seq) || (r.hasFinal && seq >= r.final) {
		return 0, false
	}
	if off == 0 && uint64(len(data)) == total && (len(r.partial) == 0 || r.partial[seq] == nil) {
		return r.whole(seq, data, budget)
	}
	m := r.partial[seq]
	if m == nil {
		if r.buffered+int(total) > r.limit || int(total) > budget {
			r.dropped++
			return 0, false
		}
		m = &inMsg{buf: make([]byte, total)}
		r.partial[seq] = m
		r.buffered += int(total)
		grew = int(total)
	} else if uint64(len(m.buf)) != total {
		return grew, false // inconsistent total: ignore the fragment
	}
	copy(m.buf[off:], data)
	m.got.add(off, off+uint64(len(data)))
	if total > 0 && !m.got.covers(0, total) {
		return grew, false
	}
	delete(r.partial, seq)
	r.resolved.add(seq, seq+1)
	r.ready = append(r.ready, Message{Seq: seq, Data: m.buf})
	return grew, true
}

// whole takes a message that came in one fragment, the usual case for
// media: it is complete at once, with no reassembly state.
func (r *msgRecv) whole(seq uint64, data []byte, budget int) (grew int, complete bool) {
	total := len(data)
	if r.buffered+total > r.limit || total > budget {
		r.dropped++
		return 0, false
	}
	buf := make([]byte, total)
	copy(buf, data)
	r.buffered += total
	r.resolved.add(seq, seq+1)
	r.ready = append(r.ready, Message{Seq: seq, Data: buf})
	return total, true
}

// onExpired resolves sequences the sender gave up on. It calls report for
// each one this side had not resolved and returns the bytes freed.
func (r *msgRecv) onExpired(first, count uint64, report func(seq uint64)) int {
	freed := 0
	const maxPerFrame = 4096 // a hostile count costs at most this much work
	end := first + min(count, maxPerFrame)
	r.resolved.gaps(first, end, func(a, b uint64) {
		for seq := a; seq < b; seq++ {
			if m := r.partial[seq]; m != nil {
				freed += len(m.buf)
				delete(r.partial, seq)
			}
			report(seq)
		}
	})
	r.resolved.add(first, end)
	r.buffered -= freed
	return freed
}

func (r *msgRecv) pop() (Message, bool) {
	if r.readyAt == len(r.ready) {
		return Message{}, false
	}
	m := r.ready[r.readyAt]
	r.ready[r.readyAt] = Message{}
	r.readyAt++
	if r.readyAt == len(r.ready) {
		r.ready, r.readyAt = r.ready[:0], 0
	}
	r.buffered -= len(m.Data)
	return m, true
}

func (r *msgRecv) readable() bool { return r.readyAt < len(r.ready) }

// done: the peer closed, and every message before its final sequence was
// resolved and read.
func (r *msgRecv) done() bool {
	return r.hasFinal && !r.readable() && len(r.partial) == 0 && (r.final == 0 || r.resolved.covers(0, r.final))
}

// abandon drops every partial message after the peer reset the stream:
// their missing fragments will never come. It returns the bytes freed.
func (r *msgRecv) abandon() int {
	freed := 0
	for seq, m := range r.partial {
		freed += len(m.buf)
		delete(r.partial, seq)
		r.resolved.add(seq, seq+1)
	}
	if r.hasFinal && r.final > 0 {
		r.resolved.add(0, r.final)
	}
	r.buffered -= freed
	return freed
}
