package netsim

import (
	"net/netip"
	"time"
)

type eventKind uint8

const (
	evDeliver  eventKind = iota // a datagram arrives at to
	evTimer                     // a node's NextTimeout is due
	evCallback                  // an At/Every callback
)

// event is one entry of the queue. Events are pooled: the simulator keeps
// freed ones on a free list so the steady state does not allocate.
type event struct {
	at   time.Duration // virtual time since the epoch
	seq  uint64        // insertion order, breaks ties deterministically
	kind eventKind

	// evDeliver
	from, to netip.AddrPort
	buf      *packetBuf

	// evTimer
	node *nodeState
	gen  uint64

	// evCallback
	fn func()
}

// packetBuf is a pooled datagram buffer.
type packetBuf struct{ b []byte }

// eventQueue is a binary min-heap ordered by (at, seq). It is hand-written
// rather than container/heap to avoid interface calls on the hot path.
type eventQueue struct{ h []*event }

func (q *eventQueue) len() int { return len(q.h) }

func less(a, b *event) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (q *eventQueue) push(e *event) {
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(q.h[i], q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *eventQueue) peek() *event { return q.h[0] }

func (q *eventQueue) pop() *event {
	h := q.h
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.h = h
	return top
}
