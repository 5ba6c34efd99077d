package qrtp

// scheduler decides which stream fills the next bytes of a packet:
// strict priority between levels (1 first), deficit round robin within a
// level, so streams of one level share bandwidth in proportion to the
// quantum regardless of frame sizes. Only streams with something to send
// are linked in, so picking is O(1).
type scheduler struct {
	levels  [PriorityLowest + 1]*Stream // head of each level's ring
	active  int
	quantum int
}

func (sc *scheduler) activate(s *Stream) {
	if s.active || s.removed || !s.hasSendable() {
		return
	}
	s.active = true
	sc.active++
	lvl := s.opts.Priority
	head := sc.levels[lvl]
	if head == nil {
		s.prev, s.next = s, s
		sc.levels[lvl] = s
		return
	}
	tail := head.prev
	tail.next, s.prev = s, tail
	s.next, head.prev = head, s
}

func (sc *scheduler) deactivate(s *Stream) {
	if !s.active {
		return
	}
	s.active = false
	sc.active--
	s.deficit = 0
	lvl := s.opts.Priority
	if s.next == s {
		sc.levels[lvl] = nil
	} else {
		s.prev.next, s.next.prev = s.next, s.prev
		if sc.levels[lvl] == s {
			sc.levels[lvl] = s.next
		}
	}
	s.prev, s.next = nil, nil
}

// pick returns the stream to serve next: the head of the highest non-empty
// level once it has deficit left. A head without deficit gets a quantum
// and moves to the back of its level.
func (sc *scheduler) pick() *Stream {
	for lvl := Priority(1); lvl <= PriorityLowest; lvl++ {
		head := sc.levels[lvl]
		if head == nil {
			continue
		}
		for head.deficit <= 0 {
			head.deficit += sc.quantum
			if head.next != head {
				sc.levels[lvl] = head.next
				head = head.next
			}
		}
		return head
	}
	return nil
}

// charge takes n bytes from the stream's deficit.
func (sc *scheduler) charge(s *Stream, n int) { s.deficit -= n }

func (sc *scheduler) empty() bool { return sc.active == 0 }
