package scheduler

import (
	"maps"
	"time"
)

// recent remembers the joins this scheduler assigned in the last
// RecentWindow, so that they count as load (and the room as present on the
// node) before the node's link state announces them. One user asking again
// replaces its earlier assignment. It is bounded by MaxRecent: the oldest
// go first. Not safe for concurrent use; the Scheduler locks it.
type recent struct {
	window time.Duration
	max    int

	byUser  map[userKey]assignment
	queue   []queued // in order of time; entries may be superseded
	head    int
	perNode map[string]int
	perRoom map[string]map[string]int // room → node → assignments
}

type userKey struct{ room, identity string }

type assignment struct {
	node string
	at   time.Time
}

type queued struct {
	key userKey
	at  time.Time
}

func newRecent(window time.Duration, maxEntries int) *recent {
	return &recent{window: window, max: maxEntries, byUser: map[userKey]assignment{},
		perNode: map[string]int{}, perRoom: map[string]map[string]int{}}
}

// add records that the user was assigned node at now.
func (r *recent) add(now time.Time, room, identity, node string) {
	r.expire(now)
	k := userKey{room, identity}
	if old, ok := r.byUser[k]; ok {
		r.forget(k, old)
	}
	for (len(r.byUser) >= r.max || len(r.queue)-r.head >= 2*r.max) && r.head < len(r.queue) {
		r.pop()
	}
	r.byUser[k] = assignment{node: node, at: now}
	r.queue = append(r.queue, queued{key: k, at: now})
	r.perNode[node]++
	if r.perRoom[room] == nil {
		r.perRoom[room] = map[string]int{}
	}
	r.perRoom[room][node]++
}

// expire drops assignments older than the window.
func (r *recent) expire(now time.Time) {
	for r.head < len(r.queue) && now.Sub(r.queue[r.head].at) > r.window {
		r.pop()
	}
	if r.head > 1024 && r.head*2 > len(r.queue) {
		r.queue = append([]queued(nil), r.queue[r.head:]...)
		r.head = 0
	}
}

// pop removes the oldest queue entry and, unless superseded, its assignment.
func (r *recent) pop() {
	q := r.queue[r.head]
	r.queue[r.head] = queued{}
	r.head++
	if a, ok := r.byUser[q.key]; ok && a.at.Equal(q.at) {
		r.forget(q.key, a)
	}
}

func (r *recent) forget(k userKey, a assignment) {
	delete(r.byUser, k)
	if r.perNode[a.node]--; r.perNode[a.node] <= 0 {
		delete(r.perNode, a.node)
	}
	rm := r.perRoom[k.room]
	if rm[a.node]--; rm[a.node] <= 0 {
		delete(rm, a.node)
	}
	if len(rm) == 0 {
		delete(r.perRoom, k.room)
	}
}

// node is the number of recent assignments to a node, except the user's
// own earlier one (it is being replaced).
func (r *recent) node(name string, self userKey) int {
	n := r.perNode[name]
	if a, ok := r.byUser[self]; ok && a.node == name {
		n--
	}
	return n
}

// roomNodes is the recent assignments of a room by node, except the
// user's own (nil when there are none).
func (r *recent) roomNodes(room string, self userKey) map[string]int {
	m := r.perRoom[room]
	if a, ok := r.byUser[self]; ok && m[a.node] > 0 {
		m = maps.Clone(m)
		if m[a.node]--; m[a.node] == 0 {
			delete(m, a.node)
		}
	}
	return m
}
