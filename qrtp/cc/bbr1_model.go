package cc

import "time"

// This file holds BBR1's path model and state machine: rounds, the
// bandwidth filter, gain cycling, Startup's full-pipe check, Drain, and the
// min-RTT filter with ProbeRTT (tcp_bbr.c's bbr_update_model).

// updateBW counts rounds and feeds the max filter (bbr_update_bw).
func (b *BBR1) updateBW(now time.Time, rs *RateSample) {
	b.roundStart = false
	if !rs.Valid {
		return
	}
	if rs.PriorDelivered >= b.nextRoundDelivered {
		b.nextRoundDelivered = b.sampler.Delivered()
		b.roundCount++
		b.roundStart = true
		b.packetConservation = false
	}
	b.lt.sample(b, now, rs)
	bw := rs.Rate()
	// App-limited samples only count when they show more than we know:
	// otherwise an idle application would drag the estimate down.
	if !rs.IsAppLimited || bw >= b.bw.Get() {
		b.bw.Update(b.roundCount, bw)
	}
}

// bdp is gain × bandwidth × min RTT in bytes, rounded up; before any RTT
// sample it is the initial window.
func (b *BBR1) bdp(bw, gain float64) int {
	if b.minRTT == 0 {
		return b.cfg.InitialWindow * b.cfg.MSS
	}
	return int(bw*b.minRTT.Seconds()*gain + 0.999999)
}

// sendQuantumPackets is tcp_bbr.c's TSO segment goal: about a millisecond
// of data at the pacing rate, at least one or two packets, at most 127.
func (b *BBR1) sendQuantumPackets() int {
	minSegs := 2
	if b.pacingRate < bbr1MinTSORate {
		minSegs = 1
	}
	segs := int(b.pacingRate/1024) / b.cfg.MSS
	return min(max(segs, minSegs), 127)
}

// quantizationBudget leaves room for a few send quanta in flight at each
// end, rounds to an even packet count (for ACK-every-other-packet), and
// makes sure the probing phase can exceed the BDP on tiny paths.
func (b *BBR1) quantizationBudget(cwnd int) int {
	mss := b.cfg.MSS
	cwnd += 3 * b.sendQuantumPackets() * mss
	pkts := (cwnd + mss - 1) / mss
	pkts = (pkts + 1) &^ 1
	cwnd = pkts * mss
	if b.mode == bbrProbeBW && b.cycleIdx == 0 {
		cwnd += 2 * mss
	}
	return cwnd
}

func (b *BBR1) inflightTarget(bw, gain float64) int {
	return b.quantizationBudget(b.bdp(bw, gain))
}

// inNetwork approximates Linux's packets-in-network-at-departure-time: when
// raising inflight, count the next send quantum as already out.
func (b *BBR1) inNetwork(inflight int) int {
	if b.pacingGain > 1 {
		inflight += b.sendQuantumPackets() * b.cfg.MSS
	}
	return inflight
}

// isNextCyclePhase decides when a gain-cycle phase is over
// (bbr_is_next_cycle_phase).
func (b *BBR1) isNextCyclePhase(rs *RateSample) bool {
	fullLength := b.sampler.DeliveredTime().Sub(b.cycleStamp) > b.minRTT
	if b.pacingGain == 1 {
		return fullLength
	}
	inflight := b.inNetwork(rs.PriorInFlight)
	bw := b.bw.Get()
	if b.pacingGain > 1 {
		// Probe until inflight reaches gain × BDP, unless loss says the
		// path cannot hold that much.
		return fullLength && (rs.LostPackets > 0 || inflight >= b.inflightTarget(bw, b.pacingGain))
	}
	// Drain phase: stop as soon as the queue we made is gone.
	return fullLength || inflight <= b.inflightTarget(bw, 1)
}

func (b *BBR1) advanceCyclePhase() {
	b.cycleIdx = (b.cycleIdx + 1) % bbr1CycleLen
	b.cycleStamp = b.sampler.DeliveredTime()
}

func (b *BBR1) updateCyclePhase(rs *RateSample) {
	if b.mode == bbrProbeBW && b.isNextCyclePhase(rs) {
		b.advanceCyclePhase()
	}
}

// resetProbeBW enters ProbeBW at a random phase other than the 0.75 drain
// phase (Linux picks the index before advancing, from 7 choices).
func (b *BBR1) resetProbeBW() {
	b.mode = bbrProbeBW
	b.cycleIdx = bbr1CycleLen - 1 - b.rng.IntN(bbr1CycleRand)
	b.advanceCyclePhase()
}

func (b *BBR1) resetMode() {
	if !b.fullBWReached {
		b.mode = bbrStartup
		return
	}
	b.resetProbeBW()
}

// checkFullBWReached declares the pipe full after three rounds in which the
// bandwidth estimate grew by less than 25%.
func (b *BBR1) checkFullBWReached(rs *RateSample) {
	if b.fullBWReached || !b.roundStart || rs.IsAppLimited {
		return
	}
	if b.bw.Get() >= b.fullBW*bbr1FullBWThresh {
		b.fullBW = b.bw.Get()
		b.fullBWCount = 0
		return
	}
	b.fullBWCount++
	b.fullBWReached = b.fullBWCount >= bbr1FullBWCount
}

// checkDrain moves Startup to Drain once the pipe is full, and Drain to
// ProbeBW once inflight is down to one BDP.
func (b *BBR1) checkDrain() {
	if b.mode == bbrStartup && b.fullBWReached {
		b.mode = bbrDrain
	}
	if b.mode == bbrDrain && b.inNetwork(b.inFlight) <= b.inflightTarget(b.bw.Get(), 1) {
		b.resetProbeBW()
	}
}

// updateMinRTT keeps the 10-second min-RTT filter and runs ProbeRTT
// (bbr_update_min_rtt).
func (b *BBR1) updateMinRTT(now time.Time, e *CongestionEvent, rs *RateSample) {
	expired := !b.minRTTStamp.IsZero() && now.Sub(b.minRTTStamp) > b.probeRTTInterval
	rtt := e.RTT.Latest
	// Linux does not let a delayed ACK's inflated sample refresh an
	// expired filter.
	ackDelayed := e.AckDelay >= time.Millisecond
	if rtt > 0 && (b.minRTT == 0 || rtt < b.minRTT || (expired && !ackDelayed)) {
		b.minRTT = rtt
		b.minRTTStamp = now
	}
	if expired && !b.idleRestart && b.mode != bbrProbeRTT {
		b.mode = bbrProbeRTT
		b.saveCwnd()
		b.probeRTTDoneStamp = time.Time{}
	}
	if b.mode == bbrProbeRTT {
		b.runProbeRTT(now)
	}
	if rs.Delivered > 0 {
		b.idleRestart = false
	}
}

// runProbeRTT holds inflight at four packets for 200 ms and one round, with
// samples marked app-limited so the low rate does not lower the estimate.
func (b *BBR1) runProbeRTT(now time.Time) {
	b.sampler.OnAppLimited(b.inFlight)
	if b.probeRTTDoneStamp.IsZero() && b.inFlight <= bbr1CwndMinPackets*b.cfg.MSS {
		b.probeRTTDoneStamp = now.Add(bbr1ProbeRTTTime)
		b.probeRTTRoundDone = false
		b.nextRoundDelivered = b.sampler.Delivered()
		return
	}
	if !b.probeRTTDoneStamp.IsZero() {
		if b.roundStart {
			b.probeRTTRoundDone = true
		}
		if b.probeRTTRoundDone {
			b.checkProbeRTTDone(now)
		}
	}
}

func (b *BBR1) checkProbeRTTDone(now time.Time) {
	if b.probeRTTDoneStamp.IsZero() || !now.After(b.probeRTTDoneStamp) {
		return
	}
	b.minRTTStamp = now // the next ProbeRTT is a full interval away
	b.cwnd = max(b.cwnd, b.priorCwnd)
	b.resetMode()
}

// updateGains sets the gains for the mode (bbr_update_gains).
func (b *BBR1) updateGains() {
	switch b.mode {
	case bbrStartup:
		b.pacingGain, b.cwndGain = bbr1HighGain, bbr1HighGain
	case bbrDrain:
		b.pacingGain, b.cwndGain = bbr1DrainGain, bbr1HighGain
	case bbrProbeBW:
		b.pacingGain = bbr1PacingGains[b.cycleIdx]
		if b.lt.useBW {
			b.pacingGain = 1
		}
		b.cwndGain = bbr1CwndGain
	case bbrProbeRTT:
		b.pacingGain, b.cwndGain = 1, 1
	}
}
