package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// ErrUnknownKind is returned for a scenario of a kind Run does not know.
var ErrUnknownKind = errors.New("bench: unknown scenario kind")

// Progress is told about each scenario as it finishes: done of total.
type Progress func(done, total int, r *Result)

// Run runs the scenarios on up to parallel goroutines (GOMAXPROCS if
// parallel ≤ 0) and returns their results in the order given. Each
// scenario has its own simulation and seed, so the figures do not depend
// on parallelism or order. It stops starting scenarios when ctx is done.
func Run(ctx context.Context, scenarios []Scenario, parallel int, progress Progress) []Result {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	results := make([]Result, len(scenarios))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range min(parallel, max(len(scenarios), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = RunOne(&scenarios[i])
				if progress != nil {
					mu.Lock()
					done++
					progress(done, len(scenarios), &results[i])
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range scenarios {
		select {
		case jobs <- i:
		case <-ctx.Done():
			for j := i; j < len(scenarios); j++ {
				results[j] = Result{Scenario: scenarios[j], Error: ctx.Err().Error()}
			}
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return results
}

// RunOne runs one scenario to completion.
func RunOne(s *Scenario) Result {
	start := time.Now()
	var r Result
	var err error
	switch s.Kind {
	case KindBulk:
		r, err = runBulk(s)
	case KindMedia:
		r, err = runMedia(s)
	case KindProbeRTT:
		r, err = runProbeRTT(s)
	case KindFairness, KindVsCubic:
		r, err = runShared(s)
	default:
		err = fmt.Errorf("%w: %q", ErrUnknownKind, s.Kind)
	}
	r.Scenario = *s
	if err != nil {
		r.Error = err.Error()
	}
	r.WallSeconds = time.Since(start).Seconds()
	return r
}

// window measures one connection over the measurement window.
type window struct {
	acked0 uint64
	stats0 qrtp.ConnStats
}

func startWindow(w *world, f *bulkFlow) window {
	w.fwd.QueueDelay().Reset()
	return window{acked0: f.acked(), stats0: f.conn.Stats()}
}

// finish fills r with f's figures since the window started.
func (win *window) finish(w *world, f *bulkFlow, d time.Duration, r *Result) {
	st := f.conn.Stats()
	secs := d.Seconds()
	goodput := float64(f.acked()-win.acked0) / secs
	r.GoodputMbit = goodput * 8 / 1e6
	r.Utilization = goodput / w.linkRate
	sent := float64(st.BytesSent - win.stats0.BytesSent)
	r.SentMbit = sent / secs * 8 / 1e6
	if payload := float64(f.acked() - win.acked0); payload > 0 {
		r.RetransmitRatio = float64(st.BytesRetransmitted-win.stats0.BytesRetransmitted) / payload
	}
	r.MinRTTms = ms(st.MinRTT)
	r.SmoothedRTTms = ms(st.SmoothedRTT)
	qd := w.fwd.QueueDelay()
	r.QueueP50ms = ms(qd.Quantile(0.5))
	r.QueueP95ms = ms(qd.Quantile(0.95))
	r.QueueP50Ratio = float64(qd.Quantile(0.5)) / float64(w.baseRTT)
	r.NoiseLoss = st.Controller.NoiseLoss
	r.CongestedLoss = st.Controller.CongestedLoss
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runBulk measures one bulk flow's goodput after a warmup.
func runBulk(s *Scenario) (Result, error) {
	var r Result
	w, err := newWorld(s)
	if err != nil {
		return r, err
	}
	newSink(w)
	start := w.sim.Now()
	f, err := newBulkFlow(w, s.CC)
	if err != nil {
		return r, err
	}
	markWholeRun(w, f, start, 5*time.Second, &r.WholeRun5s)
	markWholeRun(w, f, start, 16*time.Second, &r.WholeRun16s)
	w.sim.RunFor(s.warmup())
	win := startWindow(w, f)
	w.sim.RunFor(s.measure())
	win.finish(w, f, s.measure(), &r)
	return r, nil
}

// markWholeRun sets *util, d after start, to the utilization of a transfer
// that began at start and ended then.
func markWholeRun(w *world, f *bulkFlow, start time.Time, d time.Duration, util *float64) {
	w.sim.At(start.Add(d), func() {
		*util = float64(f.acked()) / d.Seconds() / w.linkRate
	})
}

// runMedia, runProbeRTT and runShared live in their own files.
