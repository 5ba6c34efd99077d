package qrtp

import (
	"container/heap"
	"net/netip"
	"time"
)

// The endpoint keeps its connections in a min-heap by the time each next
// needs Poll, so that Poll and NextTimeout cost O(log n) per connection
// that is due or has changed, not O(connections): a server with thousands
// of idle connections polls only the ones with something to do.
//
// A connection's deadline is recomputed (Conn.nextTimeout) whenever it may
// have changed: after it is polled, after a datagram for it is handled, and
// after the application acts on it (the mutating methods of Conn and
// Stream call touch). Touched connections are rescheduled lazily, at the
// next Poll or NextTimeout, so a burst of application calls costs one
// recomputation.

// connHeap orders connections by deadline; it implements heap.Interface.
type connHeap []*Conn

func (h connHeap) Len() int           { return len(h) }
func (h connHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h connHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *connHeap) Push(x any) {
	c := x.(*Conn)
	c.heapIdx = len(*h)
	*h = append(*h, c)
}
func (h *connHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.heapIdx = -1
	return c
}

// touch marks c for rescheduling: something changed that may move its
// deadline.
func (e *Endpoint) touch(c *Conn) {
	if !c.touched {
		c.touched = true
		e.touched = append(e.touched, c)
	}
}

// touch reschedules the connection at the endpoint's next Poll or
// NextTimeout (see endpoint_timers.go).
func (c *Conn) touch() { c.ep.touch(c) }

// addConn registers a new connection.
func (e *Endpoint) addConn(c *Conn) {
	c.connIdx = len(e.conns)
	e.conns = append(e.conns, c)
	e.touch(c)
}

// refresh reschedules the touched connections.
func (e *Endpoint) refresh() {
	for len(e.touched) > 0 {
		n := len(e.touched) - 1
		c := e.touched[n]
		e.touched[n] = nil
		e.touched = e.touched[:n]
		c.touched = false
		e.schedule(c)
	}
}

// schedule recomputes c's deadline and its place in the heap, and forgets
// c if it has closed.
func (e *Endpoint) schedule(c *Conn) {
	if c.state == stateClosed {
		e.remove(c)
		return
	}
	c.deadline = c.nextTimeout()
	switch {
	case c.deadline.IsZero():
		if c.heapIdx >= 0 {
			heap.Remove(&e.timers, c.heapIdx)
		}
	case c.heapIdx >= 0:
		heap.Fix(&e.timers, c.heapIdx)
	default:
		heap.Push(&e.timers, c)
	}
}

// pollDue polls each connection due at now once (a connection that stays
// due, having stopped at maxPacketsPerPoll, waits for the next Poll).
func (e *Endpoint) pollDue(now time.Time, send func(to netip.AddrPort, b []byte)) {
	e.due = e.due[:0]
	for len(e.timers) > 0 && !e.timers[0].deadline.After(now) {
		e.due = append(e.due, heap.Pop(&e.timers).(*Conn))
	}
	for i, c := range e.due {
		c.poll(now, send)
		e.schedule(c)
		e.due[i] = nil
	}
}

// nextDeadline is the earliest deadline of any connection (zero: none).
func (e *Endpoint) nextDeadline() time.Time {
	if len(e.timers) == 0 {
		return time.Time{}
	}
	return e.timers[0].deadline
}

// remove forgets a closed connection: its place in the heap and the
// connection list, and its connection IDs.
func (e *Endpoint) remove(c *Conn) {
	if c.connIdx < 0 {
		return
	}
	if c.heapIdx >= 0 {
		heap.Remove(&e.timers, c.heapIdx)
	}
	last := len(e.conns) - 1
	e.conns[c.connIdx] = e.conns[last]
	e.conns[c.connIdx].connIdx = c.connIdx
	e.conns[last] = nil
	e.conns = e.conns[:last]
	c.connIdx = -1
	for _, id := range c.localCIDs {
		delete(e.byCID, id)
	}
	if !c.initiator {
		delete(e.byCID, c.initialDCID)
		if c.hs != nil { // closed before confirmation
			e.pending--
		}
	}
	e.trimReady()
}

// trimReady bounds the ready list for a driver that never calls Ready:
// closed connections are dropped from it once it is long.
func (e *Endpoint) trimReady() {
	if len(e.ready) <= 2*len(e.conns)+64 {
		return
	}
	kept := e.ready[:0]
	for _, c := range e.ready {
		if c.state != stateClosed {
			kept = append(kept, c)
		} else {
			c.ready = false
		}
	}
	clear(e.ready[len(kept):])
	e.ready = kept
}
