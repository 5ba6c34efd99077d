package sfu

import "time"

// Congestion judging: when a subscriber's downlink counts as congested, so
// that the layer selector may lower its layers (see selectLayers).
//
// A delay-based estimator (pion's GCC, which the node used before bwe.go,
// and ours too, though less easily) cannot always tell a queue building at
// a bottleneck from CPU scheduling jitter: a browser or node starved of CPU for a moment
// stamps a burst of packets late, the delay gradient jumps, and GCC drops
// its estimate to 0.85 × the received rate. Taken at its word, one such
// moment moved every track of the subscriber down, dynacast paused the
// unwatched large layers, and GCC, now fed by small layers alone, took tens
// of seconds to grow back. An SFU cannot slow a track except by switching
// layers, so real congestion does not go away by itself: the delay keeps
// rising (GCC still reports overuse well after its decrease) or the queue
// overflows (loss). A moment of starvation leaves neither once it passed:
// the delay falls back, and the loss of a socket buffer overrun in a stall
// was one burst. A decrease counts as congestion only when overuse or loss
// is still there evidenceAfter after it, within congestionConfirm.
const (
	// congestionConfirm is how long a decrease waits for evidence.
	congestionConfirm = 2 * time.Second
	// evidenceAfter: overuse or loss seen at least this long after the
	// decrease is the queue still building or overflowing, not the spike
	// that caused the decrease (GCC averages loss over ~200 ms).
	evidenceAfter = 500 * time.Millisecond
	// lossEvidence is the loss rate (transport-cc) that counts as evidence.
	lossEvidence = 0.02
	// decreaseRatio: a smaller fall of the estimate is noise of the
	// received-rate measurement, not a decrease.
	decreaseRatio = 0.97
	// congestionMemory is how long after a confirmed decrease the
	// selector treats the subscriber as congested (and no probe starts).
	congestionMemory = 3 * time.Second
)

// bweEvidence is what the estimator says beyond its estimate: whether its
// delay detector sees overuse now, and the loss rate it measures.
type bweEvidence func() (overuse bool, loss float64)

// congestionJudge turns a subscriber's estimate, observed once per room
// tick, into a congested / not congested verdict. It is pure logic: time
// comes in as an argument; one goroutine (the room loop) uses it.
type congestionJudge struct {
	last      int       // the estimate at the previous observation
	pending   time.Time // an unconfirmed decrease; zero when none
	congested time.Time // the last confirmed decrease; zero when none
}

// observe takes the estimate at now and reports whether the subscriber is
// congested. evidence is asked only while a decrease waits for it.
func (j *congestionJudge) observe(now time.Time, estimate int, evidence bweEvidence) bool {
	if j.last > 0 && float64(estimate) < decreaseRatio*float64(j.last) && j.pending.IsZero() {
		j.pending = now
	}
	j.last = estimate
	if !j.pending.IsZero() {
		overuse, loss := evidence()
		switch {
		case (loss >= lossEvidence || overuse) && now.Sub(j.pending) >= evidenceAfter:
			j.congested, j.pending = now, time.Time{}
		case now.Sub(j.pending) > congestionConfirm:
			j.pending = time.Time{} // jitter: the delay fell back, nothing was lost
		}
	}
	return !j.congested.IsZero() && now.Sub(j.congested) < congestionMemory
}
