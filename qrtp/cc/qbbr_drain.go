package cc

import "time"

// qbbr's Drain: pace below the estimate to empty the queue Startup built,
// then cruise. It ends when inflight is down to one (noise-compensated)
// BDP, or when the queueing delay shows the queue is already gone.

type qbbrDrain struct{ q *QBBR }

func (d *qbbrDrain) String() string      { return "drain" }
func (d *qbbrDrain) enter(time.Time)     {}
func (d *qbbrDrain) pacingGain() float64 { return 1 / qbbrHighGain }
func (d *qbbrDrain) cwndGain() float64   { return qbbrHighGain }
func (d *qbbrDrain) cwndCap() int        { return 0 }

// class tags Drain's packets as part of the Startup episode: losses of
// them are Startup's overshoot, which Drain itself is the answer to.
func (d *qbbrDrain) class() uint8 { return classStartup }

func (d *qbbrDrain) update(now time.Time, _ *RateSample, _ int) {
	q := d.q
	drained := q.minRTT > 0 && q.queueDelay() < standingQueueThreshold(q.minRTT)
	if q.inFlight <= q.bdp(1) || drained {
		q.setMode(now, &q.probeBW)
	}
}
