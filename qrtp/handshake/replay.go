package handshake

import (
	"container/heap"
	"fmt"
	"time"
)

// replayTable remembers, per initiator static key, the newest message 1
// timestamp accepted. A min-heap on that timestamp finds the entries that
// fell out of the window, so eviction is exact and O(log n) per entry.
type replayTable struct {
	window    int64 // ns
	max       int
	notBefore int64 // ns; 0 = no bound
	// high is the newest responder clock reading seen. The lower bound of
	// the window is taken from it rather than from now, so that a clock
	// stepping backwards cannot bring an evicted timestamp back into the
	// window.
	high  int64
	byKey map[PublicKey]*replayEntry
	order replayHeap
}

type replayEntry struct {
	key   PublicKey
	ts    int64
	index int // position in order
}

func (t *replayTable) init(window time.Duration, max int, notBefore time.Time) {
	t.window = int64(window)
	t.max = max
	if !notBefore.IsZero() {
		t.notBefore = notBefore.UnixNano()
	}
	t.byKey = make(map[PublicKey]*replayEntry)
}

// admit accepts ts from key if it is inside the window and newer than the
// last one accepted from key, and records it.
func (t *replayTable) admit(now time.Time, key PublicKey, ts int64) error {
	n := now.UnixNano()
	t.high = max(t.high, n)
	lo := t.high - t.window
	if ts < lo || ts > n+t.window || ts < t.notBefore {
		return fmt.Errorf("%w: timestamp %s, responder clock %s", ErrExpired,
			time.Unix(0, ts).UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	t.evict(lo)
	if e, ok := t.byKey[key]; ok {
		if ts <= e.ts {
			return fmt.Errorf("%w: timestamp not newer than the last accepted from %s", ErrReplay, key)
		}
		e.ts = ts
		heap.Fix(&t.order, e.index)
		return nil
	}
	if len(t.byKey) >= t.max {
		return fmt.Errorf("%w: %d initiator keys inside the window", ErrBusy, len(t.byKey))
	}
	e := &replayEntry{key: key, ts: ts}
	heap.Push(&t.order, e)
	t.byKey[key] = e
	return nil
}

// evict forgets the entries whose timestamp is older than lo: any message
// carrying such a timestamp is refused as expired, so the entry no longer
// protects anything.
func (t *replayTable) evict(lo int64) {
	for len(t.order) > 0 && t.order[0].ts < lo {
		e := heap.Pop(&t.order).(*replayEntry)
		delete(t.byKey, e.key)
	}
}

// replayHeap is a container/heap of entries ordered by timestamp.
type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].ts < h[j].ts }
func (h replayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *replayHeap) Push(x any) {
	e := x.(*replayEntry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
