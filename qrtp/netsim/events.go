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
	idx  int // place in the heap (-1: not in it)

	// evDeliver
	from, to netip.AddrPort
	buf      *packetBuf
	// link, when set, is the link whose in-flight queue holds the event
	// (see Sim.pushArrival).
	link *Link

	// evTimer
	node *nodeState

	// evCallback
	fn func()
}

// packetBuf is a pooled datagram buffer.
type packetBuf struct{ b []byte }

// eventQueue is a binary min-heap ordered by (at, seq) that knows each
// event's place, so that a timer superseded by a later one is removed at
// once rather than left to be skipped. It is hand-written rather than
// container/heap to avoid interface calls on the hot path.
//
// Datagrams in flight on a link arrive in the order they were sent (a
// link without Reorder never lets one overtake another), so the heap
// holds only the first of each link's arrivals; the rest wait in the
// link's queue (Sim.pushArrival, Sim.pop). With thousands of datagrams in
// flight on a few hundred links the heap stays small, and events still
// come out in exactly (at, seq) order.
type eventQueue struct{ h []*event }

func (q *eventQueue) len() int { return len(q.h) }

func less(a, b *event) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (q *eventQueue) push(e *event) {
	e.idx = len(q.h)
	q.h = append(q.h, e)
	q.up(e.idx)
}

func (q *eventQueue) peek() *event { return q.h[0] }

func (q *eventQueue) pop() *event {
	top := q.h[0]
	q.removeAt(0)
	return top
}

// remove takes e out of the heap, wherever it is.
func (q *eventQueue) remove(e *event) {
	if e.idx >= 0 && e.idx < len(q.h) && q.h[e.idx] == e {
		q.removeAt(e.idx)
	}
}

func (q *eventQueue) removeAt(i int) {
	h := q.h
	n := len(h) - 1
	e := h[i]
	if i != n {
		h[i] = h[n]
		h[i].idx = i
	}
	h[n] = nil
	q.h = h[:n]
	e.idx = -1
	if i < n {
		q.down(i)
		q.up(i)
	}
}

func (q *eventQueue) up(i int) {
	h := q.h
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		h[i].idx, h[p].idx = i, p
		i = p
	}
}

func (q *eventQueue) down(i int) {
	h := q.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		h[i].idx, h[m].idx = i, m
		i = m
	}
}

// arrivals is a link's queue of datagrams in flight, in arrival order;
// its first is in the simulator's heap.
type arrivals struct {
	q    []*event
	head int
}

func (a *arrivals) empty() bool  { return a.head == len(a.q) }
func (a *arrivals) last() *event { return a.q[len(a.q)-1] }

func (a *arrivals) add(e *event) { a.q = append(a.q, e) }

// next drops the first arrival and returns the new first (nil: none).
func (a *arrivals) next() *event {
	a.q[a.head] = nil
	a.head++
	if a.head == len(a.q) {
		a.q, a.head = a.q[:0], 0
		return nil
	}
	if a.head >= 1024 && a.head*2 >= len(a.q) {
		n := copy(a.q, a.q[a.head:])
		clear(a.q[n:])
		a.q, a.head = a.q[:n], 0
	}
	return a.q[a.head]
}
