package sfu

import (
	"sync"
	"sync/atomic"
	"time"
)

// Local stall detection: a ticker that measures its own lateness, so that
// the send-side estimate (bwe.go) can tell CPU starvation of this process
// from congestion on a subscriber's downlink.
//
// When the node's process is starved of CPU (the machine is loaded, or the
// node shares it with its own test clients), goroutines run late: packets
// wait in socket buffers and are stamped or sent in bursts, and every
// subscriber's feedback shows the same "queue" at the same moment, though
// their downlinks are independent. A goroutine that asks to wake every
// stallTick and wakes more than stallLate late saw the process (or the
// machine) stall for about that long; the estimators hold their delay
// evidence around such a moment (bweCore.stalled). The watcher is a
// driver: it reads the clock and records, and decides nothing.
const (
	stallTick = 10 * time.Millisecond
	// stallLate: lateness below this is ordinary timer slack. It is the
	// queue threshold: a stall shorter than it cannot by itself lift a
	// report's least delayed packet above bweQueueThreshold.
	stallLate = bweQueueThreshold
)

// stallWatch records when the latest local stall ended. Owned by the
// engine: start with newStallWatch, stop with close.
type stallWatch struct {
	origin time.Time
	last   atomic.Int64 // end of the latest stall, ns since origin + 1; 0: none
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newStallWatch() *stallWatch {
	w := &stallWatch{origin: time.Now(), stop: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w
}

func (w *stallWatch) run() {
	defer w.wg.Done()
	t := time.NewTicker(stallTick)
	defer t.Stop()
	prev := time.Now()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			now := time.Now()
			if now.Sub(prev) > stallTick+stallLate {
				w.mark(now)
			}
			prev = now
		}
	}
}

// mark records a stall that ended at t.
func (w *stallWatch) mark(t time.Time) { w.last.Store(int64(t.Sub(w.origin)) + 1) }

// lastStall is when the latest stall ended; ok is false when none was seen.
func (w *stallWatch) lastStall() (t time.Time, ok bool) {
	if w == nil {
		return time.Time{}, false
	}
	v := w.last.Load()
	if v == 0 {
		return time.Time{}, false
	}
	return w.origin.Add(time.Duration(v - 1)), true
}

// close stops the goroutine and waits for it. Safe on nil.
func (w *stallWatch) close() {
	if w == nil {
		return
	}
	close(w.stop)
	w.wg.Wait()
}
