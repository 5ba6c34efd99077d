package qrtp

import (
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
)

// initialRTT is assumed before the first sample (RFC 9002 §6.2.2 uses
// 333 ms; trunks are between servers, and the handshake gives a sample
// within one round trip anyway).
const initialRTT = 100 * time.Millisecond

// timerGranularity is the smallest loss or probe delay we arm.
const timerGranularity = time.Millisecond

// rttEstimator keeps the round-trip time as RFC 9002 §5 does: minimum over
// the path's life, exponentially smoothed mean and mean deviation.
type rttEstimator struct {
	latest, min, smoothed, variance time.Duration
	hasSample                       bool
}

// update folds in a sample measured from a packet's send to its ACK, with
// the peer's reported ACK delay (already capped by the caller).
func (r *rttEstimator) update(sample, ackDelay time.Duration) {
	if sample <= 0 {
		sample = time.Microsecond
	}
	r.latest = sample
	if !r.hasSample {
		r.hasSample = true
		r.min, r.smoothed, r.variance = sample, sample, sample/2
		return
	}
	r.min = min(r.min, sample)
	adjusted := sample
	if sample-ackDelay >= r.min {
		adjusted = sample - ackDelay
	}
	diff := r.smoothed - adjusted
	if diff < 0 {
		diff = -diff
	}
	r.variance = (3*r.variance + diff) / 4
	r.smoothed = (7*r.smoothed + adjusted) / 8
}

// srtt is the smoothed RTT, or the initial guess before any sample.
func (r *rttEstimator) srtt() time.Duration {
	if !r.hasSample {
		return initialRTT
	}
	return r.smoothed
}

func (r *rttEstimator) rttvar() time.Duration {
	if !r.hasSample {
		return initialRTT / 2
	}
	return r.variance
}

// pto is the probe timeout before backoff (RFC 9002 §6.2.1).
func (r *rttEstimator) pto(maxAckDelay time.Duration) time.Duration {
	return r.srtt() + max(4*r.rttvar(), timerGranularity) + maxAckDelay
}

// lossDelay is the time threshold for declaring a packet lost: 9/8 of the
// larger of the latest and smoothed RTT (RFC 9002 §6.1.2).
func (r *rttEstimator) lossDelay() time.Duration {
	d := max(r.latest, r.srtt())
	return max(d+d/8, timerGranularity)
}

func (r *rttEstimator) stats() cc.RTTStats {
	return cc.RTTStats{Latest: r.latest, Min: r.min, Smoothed: r.smoothed, Var: r.variance}
}
