package cc

import "time"

// QBBR is QRTP's own controller, the default. It is BBR-shaped (Startup,
// Drain, ProbeBW, ProbeRTT over a delivery-rate model) with the two changes
// the talk describes, worked out so they hold whether loss falls before or
// after the bottleneck:
//
//   - Noise-loss compensation. Losses are classified (qbbr_loss.go); noise
//     loss does not lower the bandwidth estimate, and the pacing gain is
//     raised by 1/(1 − noise loss) so that the delivered rate, not just the
//     sent rate, matches the path (qbbr_model.go explains why this one
//     formula serves both placements). Congestion loss, and a queue that
//     stands for a round, cut the estimate as a loss-aware BBR would.
//   - A short ProbeRTT (qbbr_probe_rtt.go): the window steps down to 0.75
//     and then 0.5 of the BDP instead of four packets, it ends at the first
//     fresh min-RTT sample, within about two round trips at most, and it is
//     skipped while ordinary samples keep confirming the min RTT.
//
// Each state lives in its own file over the shared model, as Chromium's
// BBR2 is laid out.
type QBBR struct {
	qbbrModel
	rng cycleRand

	mode     qbbrMode
	startup  qbbrStartup
	drain    qbbrDrain
	probeBW  qbbrProbeBW
	probeRTT qbbrProbeRTT

	cwnd          int
	priorCwnd     int
	pacingRate    float64
	fullBWReached bool
	idleRestart   bool
	hasSeenRTT    bool
	// congestionRound is the last round whose congestion was acted on, so
	// that one overflow is answered once.
	congestionRound int64
	// rs is the current event's rate sample: a field, because the state
	// interface call makes a local escape (one allocation per ACK).
	rs RateSample
}

// qbbrMode is one state of the machine. update runs on every ACK after the
// model and may switch the controller to another state.
type qbbrMode interface {
	String() string
	enter(now time.Time)
	update(now time.Time, rs *RateSample, congBytes int)
	pacingGain() float64
	cwndGain() float64
	// cwndCap is an upper bound on cwnd while in this state; 0 for none.
	cwndCap() int
	// class tags the packets sent in this state for the loss classifier.
	class() uint8
}

// NewQBBR returns a qbbr controller.
func NewQBBR(cfg Config) *QBBR {
	cfg = cfg.withDefaults()
	q := &QBBR{
		qbbrModel: newQBBRModel(cfg),
		rng:       cycleRand{seed: cfg.Seed, stream: 0x9bb},
		cwnd:      cfg.InitialWindow * cfg.MSS,
	}
	q.startup.q, q.drain.q, q.probeBW.q, q.probeRTT.q = q, q, q, q
	q.priorCwnd = q.cwnd
	q.setMode(time.Time{}, &q.startup)
	q.initPacingRate()
	return q
}

// Name implements Controller.
func (q *QBBR) Name() string { return "qbbr" }

func (q *QBBR) setMode(now time.Time, m qbbrMode) {
	q.mode = m
	m.enter(now)
	q.sampler.SetClass(m.class())
}

// enterProbeBWOrStartup resumes after ProbeRTT or an RTO.
func (q *QBBR) resumeMode(now time.Time) {
	if q.fullBWReached {
		q.setMode(now, &q.probeBW)
		return
	}
	q.setMode(now, &q.startup)
}

// OnPacketSent implements Controller.
func (q *QBBR) OnPacketSent(now time.Time, p SentPacket) {
	q.rng.onSend(now)
	before := max(p.BytesInFlight-p.Bytes, 0)
	if before == 0 && q.sampler.AppLimited() {
		q.idleRestart = true
		q.agg.restart(now)
		switch q.mode {
		case &q.probeBW:
			q.setPacingRate(q.sendRate(), 1)
		case &q.probeRTT:
			q.probeRTT.finish(now, false)
		}
	}
	q.sampler.OnPacketSent(now, p.Number, p.Bytes, before)
	q.inFlight = p.BytesInFlight
	q.largestSent = max(q.largestSent, p.Number)
}

// OnAppLimited implements Controller.
func (q *QBBR) OnAppLimited(_ time.Time, bytesInFlight int) {
	q.sampler.OnAppLimited(bytesInFlight)
}

// OnPersistentCongestion implements Controller: every packet of a long
// stretch was lost. The window restarts from the minimum and grows back by
// what is acknowledged; the rate model is kept, as BBR keeps it.
func (q *QBBR) OnPersistentCongestion(time.Time) {
	q.priorCwnd = max(q.priorCwnd, q.cwnd)
	q.cwnd = q.cfg.MinWindow * q.cfg.MSS
}

// OnCongestionEvent implements Controller.
func (q *QBBR) OnCongestionEvent(now time.Time, e *CongestionEvent) {
	q.rs = q.sampler.OnCongestionEvent(now, e, q.minRTT)
	rs := &q.rs
	q.inFlight = e.BytesInFlight
	congBytes := q.update(now, e, rs)
	q.agg.update(rs, q.sendRate(), q.round.start, q.cwnd, q.cfg.MSS, q.sampler.DeliveredTime())

	q.mode.update(now, rs, congBytes)
	if q.mode != &q.probeRTT && q.minRTTExpired(now) && !q.idleRestart {
		q.setMode(now, &q.probeRTT)
	}
	if rs.Delivered > 0 {
		q.idleRestart = false
	}
	q.setPacingRate(q.sendRate(), q.mode.pacingGain())
	q.setCwnd(rs, congBytes)
}

// onCongestion reports whether this is the first congestion signal of the
// current round; states act on congestion once per round.
func (q *QBBR) onCongestion() bool {
	if q.congestionRound == q.round.count {
		return false
	}
	q.congestionRound = q.round.count
	return true
}

func (q *QBBR) initPacingRate() {
	rtt := time.Millisecond
	if q.srtt > 0 {
		rtt = q.srtt
		q.hasSeenRTT = true
	}
	q.pacingRate = float64(q.cwnd) / rtt.Seconds() * qbbrHighGain
}

// setPacingRate paces at gain × rate less a 1% margin. Before the pipe is
// known to be full the rate only rises, so early small samples do not slow
// Startup down.
func (q *QBBR) setPacingRate(rate, gain float64) {
	if !q.hasSeenRTT && q.srtt > 0 {
		q.initPacingRate()
	}
	r := rate * gain * 0.99
	if q.fullBWReached || r > q.pacingRate {
		q.pacingRate = r
	}
}

// setCwnd moves cwnd toward gain × BDP plus room for ACK aggregation and
// send quanta. Only congestion loss takes bytes off: noise loss is the
// path's, not the window's, fault.
func (q *QBBR) setCwnd(rs *RateSample, congBytes int) {
	mss := q.cfg.MSS
	target := q.bdp(q.mode.cwndGain()) + 2*q.sendQuantum(q.pacingRate)
	if q.fullBWReached {
		target += q.agg.allowance(q.sendRate())
	}
	cwnd := max(q.cwnd-congBytes, mss)
	acked := rs.AckedBytes
	switch {
	case q.fullBWReached:
		cwnd = min(cwnd+acked, target)
	case cwnd < target || q.sampler.Delivered() < int64(q.cfg.InitialWindow*mss):
		cwnd += acked
	}
	cwnd = max(cwnd, q.cfg.MinWindow*mss)
	if c := q.mode.cwndCap(); c > 0 {
		cwnd = min(cwnd, max(c, q.cfg.MinWindow*mss))
	}
	q.cwnd = min(cwnd, q.cfg.MaxWindow)
}

// PacingRate implements Controller.
func (q *QBBR) PacingRate() float64 { return q.pacingRate }

// CongestionWindow implements Controller.
func (q *QBBR) CongestionWindow() int { return q.cwnd }

// Stats implements Controller. BandwidthEst is the delivery-rate estimate;
// PacingGain includes the noise-loss compensation.
func (q *QBBR) Stats() Stats {
	return Stats{
		State:         q.mode.String(),
		CWND:          q.cwnd,
		PacingRate:    q.pacingRate,
		BandwidthEst:  q.bandwidth(),
		MinRTT:        q.minRTT,
		PacingGain:    q.mode.pacingGain() * q.compensation(),
		LossRate:      q.loss.noiseRate + q.loss.congRate,
		NoiseLoss:     q.loss.noiseRate,
		CongestedLoss: q.loss.congRate,
	}
}
