package cc

import "time"

// qbbr's ProbeBW: BBR's eight-phase gain cycle (probe at 1.25, drain at
// 0.75, cruise at 1 for six phases, starting at a seeded random phase) over
// the noise-compensated rate, with two responses BBRv1 does not have:
//
//   - Congestion loss (as the classifier judges it) caps the estimate at
//     0.85 of the rate delivered over the last round and drains.
//   - A standing queue: when the queueing delay never fell below the
//     threshold during a whole cruising round, we are sending faster than
//     the bottleneck, which on a lossy link is what an optimistic max
//     filter does. Since the link is then saturated, the rate delivered
//     over that round is the bottleneck rate (our share of it), an unbiased
//     number: the estimate is capped at it and the queue drained. If two
//     such drains in a row do not even shrink the queue, it is not ours (a
//     loss-based flow keeps it full) and yielding further would only starve
//     us, so standing queues are ignored for a few cycles; loss still cuts.
//
// Both caps hold until the next probe phase, which lifts them (BBRv2's
// bw_lo): probing is how a lowered estimate finds out it can rise again.

var qbbrGainCycle = [8]float64{1.25, 0.75, 1, 1, 1, 1, 1, 1}

const (
	qbbrPhaseUp   = 0
	qbbrPhaseDown = 1
	qbbrCwndGain  = 2.0
	// qbbrCongestionBeta is the cut on congestion loss, applied to the
	// last round's delivered rate but at most to qbbrCutFloor of the
	// estimate per round.
	qbbrCongestionBeta = 0.85
	qbbrCutFloor       = 0.8
	// qbbrCompetingRounds is how long standing queues are left alone once
	// they proved not to be ours.
	qbbrCompetingRounds = 4 * len(qbbrGainCycle)
)

type qbbrProbeBW struct {
	q              *QBBR
	idx            int
	phaseStart     time.Time
	strikes        int
	strikeQ        time.Duration // standing queue when the last drain was ordered
	competingUntil int64
	// quietUntil skips the standing-queue check for the rounds in which a
	// drain it ordered is still taking effect.
	quietUntil int64
}

func (p *qbbrProbeBW) String() string      { return "probe_bw" }
func (p *qbbrProbeBW) pacingGain() float64 { return qbbrGainCycle[p.idx] }
func (p *qbbrProbeBW) cwndGain() float64   { return qbbrCwndGain }
func (p *qbbrProbeBW) cwndCap() int        { return 0 }

func (p *qbbrProbeBW) class() uint8 {
	if p.idx == qbbrPhaseUp {
		return classProbe
	}
	return classCruise
}

// enter starts at a random phase other than the drain phase, as BBR does.
func (p *qbbrProbeBW) enter(now time.Time) {
	p.q.fullBWReached = true
	idx := len(qbbrGainCycle) - 1 - p.q.rng.IntN(len(qbbrGainCycle)-1)
	p.setPhase(now, (idx+1)%len(qbbrGainCycle))
}

func (p *qbbrProbeBW) setPhase(now time.Time, idx int) {
	p.idx = idx
	if idx == qbbrPhaseUp {
		p.q.bwLo = 0 // probing is how a lowered estimate recovers
	}
	if qbbrGainCycle[idx] != 1 {
		// The queue a probe builds, and the round its drain spans, say
		// nothing about a standing queue: judge only whole cruising rounds.
		p.quietUntil = max(p.quietUntil, p.q.round.count+2)
	}
	p.phaseStart = p.q.sampler.DeliveredTime()
	if p.phaseStart.IsZero() {
		p.phaseStart = now
	}
	p.q.sampler.SetClass(p.class())
}

// update moves through the gain cycle; ProbeBW itself is left only for
// ProbeRTT, which the controller decides.
func (p *qbbrProbeBW) update(now time.Time, rs *RateSample, congBytes int) (qbbrMode, string) {
	q := p.q
	// Losses of packets from Startup and Drain, detected only now, were
	// already answered by Drain.
	ours := rs.LostBytes - rs.LostByClass[classStartup]
	if congBytes > 0 && ours > 0 && q.onCongestion() {
		// The rate delivered over the last round is our share of a
		// saturated link, but not below qbbrCutFloor of the estimate: a
		// round that a scheduler stall emptied (a busy host, in real time)
		// would otherwise cut the estimate to a fraction for the eight
		// rounds until the next probe. A real competitor's share is found
		// over a few rounds instead of one.
		bw := q.bandwidth()
		if r := q.lastRoundRate; r > 0 && r < bw {
			bw = max(r, qbbrCutFloor*bw)
		}
		// A sender short of data (media) is held at what it sends, not
		// cut below it: below its own demand it only drops its frames,
		// and the next round's smaller delivery cut again (in real time a
		// scheduler stall that read as congestion halved a 50%-loss
		// media flow's frames for six seconds).
		beta := qbbrCongestionBeta
		if rs.IsAppLimited {
			beta = 1
		}
		q.lowerBound(beta * bw)
		p.setPhase(now, qbbrPhaseDown)
		return nil, ""
	}
	if q.round.start {
		p.checkStandingQueue(now)
	}
	if p.phaseDone(rs, congBytes) {
		p.setPhase(now, (p.idx+1)%len(qbbrGainCycle))
	}
	return nil, ""
}

// checkStandingQueue runs at each round start on the round that ended.
func (p *qbbrProbeBW) checkStandingQueue(now time.Time) {
	q := p.q
	if q.round.count < p.quietUntil || q.round.count < p.competingUntil || p.pacingGain() != 1 {
		return
	}
	standing := q.lastRoundQValid && q.lastRoundQMin > standingQueueThreshold(q.minRTT)
	if !standing {
		p.strikes = 0
		return
	}
	// A drain of ours shrinks a queue of ours. If the last two did not
	// (someone refills it as fast as we yield), it is not ours to drain.
	if p.strikes > 0 && q.lastRoundQMin < p.strikeQ*4/5 {
		p.strikes = 0
	}
	p.strikes++
	if p.strikes > 2 {
		p.strikes = 0
		p.competingUntil = q.round.count + int64(qbbrCompetingRounds)
		return
	}
	p.strikeQ = q.lastRoundQMin
	if r := q.lastRoundRate; r > 0 {
		// Floored as on congestion: a stalled round is not the link's rate.
		q.lowerBound(max(r, qbbrCutFloor*q.bandwidth()))
	}
	p.setPhase(now, qbbrPhaseDown)
	// The drain phase and the round after it still carry the old queue.
	p.quietUntil = q.round.count + 2
}

// phaseDone is BBR's phase-advance rule over the compensated BDP: cruise
// phases last one min RTT; the probe lasts at least that and until inflight
// reaches 1.25 BDP or congestion says the path cannot hold it; the drain
// ends as soon as inflight is back to one BDP.
func (p *qbbrProbeBW) phaseDone(rs *RateSample, congBytes int) bool {
	q := p.q
	fullLength := q.sampler.DeliveredTime().Sub(p.phaseStart) > q.minRTT
	g := p.pacingGain()
	switch {
	case g == 1:
		return fullLength
	case g > 1:
		return fullLength && (congBytes > 0 || rs.PriorInFlight >= q.bdp(g))
	default:
		return fullLength || q.inFlight <= q.bdp(1)
	}
}
