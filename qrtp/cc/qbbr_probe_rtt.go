package cc

import "time"

// qbbr's ProbeRTT refreshes min RTT without BBR's collapse to four packets
// for 200 ms. The window steps down, to 0.75 of the BDP and, one round trip
// later if that was not enough, to 0.5; the state ends at the first RTT
// sample within 1/32 of min RTT from a packet sent after it began, and at
// the latest about two round trips (plus whatever queue it found) after it
// began. A queue that other flows keep may mean no fresh sample comes: after
// two fruitless probes in a row the lowest RTT seen is adopted as the new
// min (the path may have changed). It is entered only when no sample has
// come close to min RTT for ProbeRTTInterval (5 s by default), which for a
// single flow whose drain phases empty the queue means almost never.

var qbbrProbeRTTSteps = [2]float64{0.75, 0.5}

type qbbrProbeRTT struct {
	q        *QBBR
	start    time.Time
	step     int
	stepAt   time.Time // when the second step begins
	deadline time.Time
	probeMin time.Duration
	failures int

	// Count, LastDuration and LastFresh describe finished probes, for tests
	// and benchmarks.
	count        int
	lastDuration time.Duration
	lastFresh    bool
}

func (r *qbbrProbeRTT) String() string      { return "probe_rtt" }
func (r *qbbrProbeRTT) pacingGain() float64 { return 1 }
func (r *qbbrProbeRTT) cwndGain() float64   { return 1 }
func (r *qbbrProbeRTT) class() uint8        { return classCruise }

func (r *qbbrProbeRTT) cwndCap() int {
	return int(qbbrProbeRTTSteps[r.step] * float64(r.q.bdp(1)))
}

func (r *qbbrProbeRTT) enter(now time.Time) {
	q := r.q
	q.priorCwnd = q.cwnd
	r.start = now
	r.step = 0
	r.probeMin = 0
	// Give the queue found at entry time to flow out on top of the round
	// trips.
	backlog := q.queueDelay()
	r.stepAt = now.Add(q.minRTT + backlog)
	r.deadline = now.Add(2*q.minRTT + backlog)
	r.count++
	q.sampler.OnAppLimited(q.inFlight)
}

func (r *qbbrProbeRTT) update(now time.Time, rs *RateSample, _ int) (qbbrMode, string) {
	q := r.q
	// The low rate here says nothing about the path's bandwidth.
	q.sampler.OnAppLimited(q.inFlight)
	if q.latestRTT > 0 && !rs.AnchorSent.Before(r.start) {
		if r.probeMin == 0 || q.latestRTT < r.probeMin {
			r.probeMin = q.latestRTT
		}
		if q.nearMinRTT {
			return r.finish(now, true), "a fresh sample confirmed the min RTT"
		}
	}
	if r.step == 0 && !now.Before(r.stepAt) {
		r.step = 1
	}
	if !now.Before(r.deadline) {
		return r.finish(now, false), "its deadline passed without a sample near the min RTT"
	}
	return nil, ""
}

// finish ends the probe (fresh says whether min RTT was confirmed) and
// returns the state to resume.
func (r *qbbrProbeRTT) finish(now time.Time, fresh bool) qbbrMode {
	q := r.q
	r.lastDuration = now.Sub(r.start)
	r.lastFresh = fresh
	if fresh {
		r.failures = 0
	} else if r.failures++; r.failures >= 2 && r.probeMin > 0 {
		q.minRTT = r.probeMin
		r.failures = 0
	}
	q.minRTTStamp = now
	q.cwnd = max(q.cwnd, q.priorCwnd)
	return q.resumeMode()
}
