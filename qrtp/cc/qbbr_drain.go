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

func (d *qbbrDrain) update(time.Time, *RateSample, int) (qbbrMode, string) {
	q := d.q
	switch {
	case q.inFlight <= q.bdp(1):
		return &q.probeBW, "inflight is down to one BDP"
	case q.minRTT > 0 && q.queueDelay() < standingQueueThreshold(q.minRTT):
		return &q.probeBW, "the queue is gone"
	}
	return nil, ""
}
