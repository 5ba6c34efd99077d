package qrtp

import "time"

type queuedDatagram struct {
	data     []byte
	deadline time.Time
}

// dgSend queues datagrams for one send each; the queue is bounded in bytes.
type dgSend struct {
	q     []queuedDatagram
	bytes int
	limit int
}

func (s *dgSend) push(p []byte, deadline time.Time) bool {
	if s.bytes+len(p) > s.limit {
		return false
	}
	s.q = append(s.q, queuedDatagram{data: append([]byte(nil), p...), deadline: deadline})
	s.bytes += len(p)
	return true
}

// pop removes the front datagram.
func (s *dgSend) pop() queuedDatagram {
	d := s.q[0]
	s.q[0] = queuedDatagram{}
	s.q = s.q[1:]
	s.bytes -= len(d.data)
	return d
}

// dgRecv holds received datagrams up to a count bound; newer ones are
// dropped when it is full (the application is not keeping up).
type dgRecv struct {
	q      [][]byte
	bytes  int
	limit  int
	closed bool
}

func (r *dgRecv) push(p []byte) bool {
	if len(r.q) >= r.limit {
		return false
	}
	r.q = append(r.q, append([]byte(nil), p...))
	r.bytes += len(p)
	return true
}

func (r *dgRecv) pop() ([]byte, bool) {
	if len(r.q) == 0 {
		return nil, false
	}
	b := r.q[0]
	r.q[0] = nil
	r.q = r.q[1:]
	r.bytes -= len(b)
	return b, true
}
