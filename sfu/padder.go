package sfu

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	// padInterval is how often the padder sends: small enough that a probe
	// is a steady rate, not a burst the delay detector would take for a
	// queue.
	padInterval = 20 * time.Millisecond
	// probeSpan is how many of the last packets sent a probe cycles over.
	probeSpan = 32
)

// padder sends a subscriber's probe packets (probe.go) at the rate the
// prober asks for. Its goroutine runs only while the rate is above zero;
// close stops it and waits. It is a driver: it reads the clock and writes,
// and decides nothing.
type padder struct {
	pick func() []*DownTrack // the subscriber's video down-tracks
	sent atomic.Int64        // bytes of probe packets written

	mu      sync.Mutex
	rate    int // bits/s
	running bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newPadder(pick func() []*DownTrack) *padder {
	return &padder{pick: pick, stop: make(chan struct{})}
}

// set changes the padding rate; a rate above zero starts the goroutine if
// it is not running, zero lets it end.
func (pd *padder) set(rate int) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	pd.rate = rate
	if rate <= 0 || pd.running || pd.closed {
		return
	}
	pd.running = true
	pd.wg.Add(1)
	go pd.run()
}

// close stops the goroutine and waits for it.
func (pd *padder) close() {
	pd.mu.Lock()
	if pd.closed {
		pd.mu.Unlock()
		return
	}
	pd.closed = true
	close(pd.stop)
	pd.mu.Unlock()
	pd.wg.Wait()
}

func (pd *padder) run() {
	defer pd.wg.Done()
	t := time.NewTicker(padInterval)
	defer t.Stop()
	last := time.Now()
	owed := 0.0 // bytes
	for {
		select {
		case <-pd.stop:
			return
		case now := <-t.C:
			pd.mu.Lock()
			rate := pd.rate
			if rate <= 0 {
				pd.running = false
				pd.mu.Unlock()
				return
			}
			pd.mu.Unlock()
			// What a late tick owes is capped at 5 intervals: a stalled
			// padder must not catch up with a burst.
			owed = min(owed+float64(rate)/8*now.Sub(last).Seconds(), float64(rate)/8*(5*padInterval).Seconds())
			last = now
			n := pd.send(now, int(owed))
			pd.sent.Add(int64(n))
			owed -= float64(n)
		}
	}
}

// send writes probe packets worth about bytes over the down-tracks in turn,
// and returns what it wrote.
func (pd *padder) send(now time.Time, bytes int) int {
	sent := 0
	downs := pd.pick()
	for sent < bytes {
		progress := false
		for _, d := range downs {
			d.mu.Lock()
			n := d.probeAndUnlock(now)
			sent += n
			progress = progress || n > 0
			if sent >= bytes {
				break
			}
		}
		if !progress {
			break
		}
	}
	return sent
}
