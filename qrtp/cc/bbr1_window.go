package cc

import "time"

// This file holds BBR1's congestion window: the target of gain × BDP plus
// the ACK-aggregation allowance, packet conservation in recovery, and the
// long-term ("policer") bandwidth estimator.

// saveCwnd remembers the last good window before recovery or ProbeRTT cut
// it (bbr_save_cwnd).
func (b *BBR1) saveCwnd() {
	if b.prevCAState < caRecovery && b.mode != bbrProbeRTT {
		b.priorCwnd = b.cwnd
	} else {
		b.priorCwnd = max(b.priorCwnd, b.cwnd)
	}
}

// recoverOrRestore applies loss recovery to cwnd. It returns the new window
// and whether packet conservation decided it alone
// (bbr_set_cwnd_to_recover_or_restore).
func (b *BBR1) recoverOrRestore(rs *RateSample) (int, bool) {
	cwnd := b.cwnd
	// An ACK for P packets may release at most 2P: first take the newly
	// lost bytes out; setCwnd then grows toward the target.
	if rs.LostBytes > 0 {
		cwnd = max(cwnd-rs.LostBytes, b.cfg.MSS)
	}
	acked := rs.AckedBytes
	switch {
	case b.caState == caRecovery && b.prevCAState != caRecovery:
		// First round of recovery: send one packet per packet delivered,
		// and drop whatever window the sender was not using.
		b.packetConservation = true
		b.nextRoundDelivered = b.sampler.Delivered()
		cwnd = b.inFlight + acked
	case b.prevCAState >= caRecovery && b.caState < caRecovery:
		// Recovery is over: go back to the window it started from.
		cwnd = max(cwnd, b.priorCwnd)
		b.packetConservation = false
	}
	b.prevCAState = b.caState
	if b.packetConservation {
		// Linux counts packets, so this is at least one; in bytes a small
		// ACKed packet could leave less than a full packet of window and,
		// with nothing in flight, no ACK would ever come to grow it.
		return max(cwnd, b.inFlight+acked, b.cfg.MSS), true
	}
	return cwnd, false
}

// setCwnd is bbr_set_cwnd: slow-start toward the target while below it, snap
// down to it once the pipe has been filled.
func (b *BBR1) setCwnd(rs *RateSample, bw, gain float64) {
	cwnd := b.cwnd
	acked := rs.AckedBytes
	if acked > 0 {
		var conserving bool
		cwnd, conserving = b.recoverOrRestore(rs)
		if !conserving {
			target := b.bdp(bw, gain)
			if b.fullBWReached { // only once Startup has filled the pipe
				target += b.agg.allowance(b.bandwidth())
			}
			target = b.quantizationBudget(target)
			if b.fullBWReached {
				cwnd = min(cwnd+acked, target)
			} else if cwnd < target || b.sampler.Delivered() < int64(b.cfg.InitialWindow*b.cfg.MSS) {
				cwnd += acked
			}
			cwnd = max(cwnd, bbr1CwndMinPackets*b.cfg.MSS)
		}
	}
	b.cwnd = min(cwnd, b.cfg.MaxWindow)
	if b.mode == bbrProbeRTT {
		b.cwnd = min(b.cwnd, bbr1CwndMinPackets*b.cfg.MSS)
	}
}

// ackAggregation estimates how much more data ACKs deliver at once than the
// bandwidth estimate predicts (wifi, delayed and stretched ACKs), so cwnd
// can cover the silences between aggregated ACKs (tcp_bbr.c's extra_acked;
// qbbr uses it too).
type ackAggregation struct {
	epochStart  time.Time
	epochAcked  int64
	extraAcked  [2]int
	winRounds   int
	winIdx      int
	initialized bool
}

// update is bbr_update_ack_aggregation. bw is the current estimate,
// deliveredAt the sampler's delivered time after this ACK.
func (a *ackAggregation) update(rs *RateSample, bw float64, roundStart bool, cwnd, mss int, deliveredAt time.Time) {
	if rs.AckedBytes <= 0 || !rs.Valid {
		return
	}
	if !a.initialized {
		a.initialized = true
		a.epochStart = deliveredAt
	}
	if roundStart {
		a.winRounds = min(a.winRounds+1, 31)
		if a.winRounds >= bbr1ExtraAckedWin {
			a.winRounds = 0
			a.winIdx ^= 1
			a.extraAcked[a.winIdx] = 0
		}
	}
	expected := int64(bw * deliveredAt.Sub(a.epochStart).Seconds())
	// Start a new epoch when ACKs arrive no faster than expected, or the
	// epoch has gone on so long its count is meaningless.
	if a.epochAcked <= expected || a.epochAcked+int64(rs.AckedBytes) >= bbr1AckEpochResetPk*int64(mss) {
		a.epochAcked = 0
		a.epochStart = deliveredAt
		expected = 0
	}
	a.epochAcked += int64(rs.AckedBytes)
	extra := int(min(a.epochAcked-expected, int64(cwnd)))
	if extra > a.extraAcked[a.winIdx] {
		a.extraAcked[a.winIdx] = extra
	}
}

// restart begins a new epoch, as after an idle period.
func (a *ackAggregation) restart(now time.Time) {
	a.epochStart = now
	a.epochAcked = 0
}

// allowance is the window allowance for aggregation: at most 100 ms of
// data at bw.
func (a *ackAggregation) allowance(bw float64) int {
	capBytes := int(bw * bbr1ExtraAckedMax.Seconds())
	return min(int(bbr1ExtraAckedGain*float64(max(a.extraAcked[0], a.extraAcked[1]))), capBytes)
}

// longTermBW is tcp_bbr.c's policer detector: two consecutive sampling
// intervals of at least four rounds with a loss rate of 20% or more and
// nearly the same delivery rate make BBR pace at their average rate, with
// gain 1, for 48 rounds.
type longTermBW struct {
	isSampling    bool
	useBW         bool
	bw            float64 // bytes/s
	rounds        int
	lastStamp     time.Time
	lastDelivered int64
	lastLost      int64
}

const (
	bbr1LTMinRounds  = 4
	bbr1LTLossThresh = 50.0 / 256 // ≈ 19.5%
	bbr1LTBWRatio    = 1.0 / 8
	bbr1LTBWDiff     = 4000.0 / 8 // bytes/s
	bbr1LTMaxRounds  = 48
)

func (l *longTermBW) resetInterval(b *BBR1) {
	l.lastStamp = b.sampler.DeliveredTime()
	l.lastDelivered = b.sampler.Delivered()
	l.lastLost = b.sampler.Lost()
	l.rounds = 0
}

func (l *longTermBW) reset(b *BBR1) {
	l.bw = 0
	l.useBW = false
	l.isSampling = false
	l.resetInterval(b)
}

// sample is bbr_lt_bw_sampling.
func (l *longTermBW) sample(b *BBR1, now time.Time, rs *RateSample) {
	if l.useBW {
		if b.mode == bbrProbeBW && b.roundStart {
			l.rounds++
			if l.rounds >= bbr1LTMaxRounds {
				l.reset(b)
				b.resetProbeBW()
			}
		}
		return
	}
	// Start sampling at the first loss, once a policer would have used up
	// its token bucket.
	if !l.isSampling {
		if rs.LostPackets == 0 {
			return
		}
		l.resetInterval(b)
		l.isSampling = true
	}
	if rs.IsAppLimited {
		l.reset(b)
		return
	}
	if b.roundStart {
		l.rounds++
	}
	if l.rounds < bbr1LTMinRounds {
		return
	}
	if l.rounds > 4*bbr1LTMinRounds {
		l.reset(b)
		return
	}
	// End the interval at a loss, when the tokens are surely exhausted.
	if rs.LostPackets == 0 {
		return
	}
	lost := b.sampler.Lost() - l.lastLost
	delivered := b.sampler.Delivered() - l.lastDelivered
	if delivered == 0 || float64(lost) < bbr1LTLossThresh*float64(delivered) {
		return
	}
	elapsed := b.sampler.DeliveredTime().Sub(l.lastStamp)
	if elapsed < time.Millisecond {
		return
	}
	l.intervalDone(b, float64(delivered)/elapsed.Seconds())
}

// intervalDone is bbr_lt_bw_interval_done.
func (l *longTermBW) intervalDone(b *BBR1, bw float64) {
	if l.bw > 0 {
		diff := bw - l.bw
		if diff < 0 {
			diff = -diff
		}
		if diff <= bbr1LTBWRatio*l.bw || b.rateWithGain(diff, 1) <= bbr1LTBWDiff {
			// Two consistent lossy intervals: assume a policer.
			l.bw = (bw + l.bw) / 2
			l.useBW = true
			b.pacingGain = 1
			l.rounds = 0
			return
		}
	}
	l.bw = bw
	l.resetInterval(b)
}

// lossMeter is an exponentially weighted loss fraction over roughly the
// last span bytes, for Stats.
type lossMeter struct{ frac float64 }

func (m *lossMeter) add(acked, lost, span int) {
	n := acked + lost
	if n <= 0 || span <= 0 {
		return
	}
	w := min(float64(n)/float64(span), 1)
	m.frac += w * (float64(lost)/float64(n) - m.frac)
}

func (m *lossMeter) rate() float64 { return m.frac }
