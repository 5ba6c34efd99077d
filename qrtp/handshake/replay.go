package handshake

import (
	"container/heap"
	"fmt"
	"time"
)

// replayTable remembers the ephemeral key of every message 1 accepted whose
// timestamp is still inside the window. A replayed message 1 carries the
// same ephemeral key, so it is refused while inside the window and expired
// after it. Keying by the ephemeral rather than by the initiator's static
// key (WireGuard keeps one newest timestamp per peer) lets one node run
// several handshakes with us at once: two trunks dialled in the same
// instant, or a retransmitted older Init after a newer one. Forging a new
// message 1 needs the initiator's static private key (the ss token), so a
// fresh ephemeral proves a fresh message. A min-heap on the timestamp finds
// the entries that fell out of the window, so eviction is exact and
// O(log n) per entry.
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

// admit accepts the message 1 with ephemeral key and timestamp ts if ts is
// inside the window and key was not seen inside it, and records it.
func (t *replayTable) admit(now time.Time, key PublicKey, ts int64) error {
	n := now.UnixNano()
	t.high = max(t.high, n)
	lo := t.high - t.window
	if ts < lo || ts > n+t.window || ts < t.notBefore {
		return fmt.Errorf("%w: timestamp %s, responder clock %s", ErrExpired,
			time.Unix(0, ts).UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	t.evict(lo)
	if _, ok := t.byKey[key]; ok {
		return fmt.Errorf("%w: message 1 with this ephemeral key was already accepted", ErrReplay)
	}
	if len(t.byKey) >= t.max {
		return fmt.Errorf("%w: %d handshakes inside the window", ErrBusy, len(t.byKey))
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
