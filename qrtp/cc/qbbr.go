package cc

import (
	"context"
	"log/slog"
	"time"
)

// QBBR is QRTP's own controller, the default. It is BBR-shaped (Startup,
// Drain, ProbeBW, ProbeRTT over a delivery-rate model) with the two changes
// the talk describes (noise-loss compensation, a short ProbeRTT), worked
// out so they hold whether loss falls before or after the bottleneck, and
// a Startup made for long lossy paths:
//
//   - Noise-loss compensation. Losses are classified (qbbr_loss.go); noise
//     loss does not lower the bandwidth estimate, and the pacing gain is
//     raised by 1/(1 − noise loss) so that the delivered rate, not just the
//     sent rate, matches the path (qbbr_model.go explains why this one
//     formula serves both placements). Congestion loss, and a queue that
//     stands for a round, cut the estimate as a loss-aware BBR would.
//   - A Startup that settles fast on long lossy paths (qbbr_startup.go):
//     its window grows by what each ACK resolved, lost-to-noise included,
//     is not held back by the trailing estimate until a queue shows, and
//     queues at most one BDP (window gain 2); it ends one round after
//     growth falters when a queue stood all round.
//   - A short ProbeRTT (qbbr_probe_rtt.go): the window steps down to 0.75
//     and then 0.5 of the BDP instead of four packets, it ends at the first
//     fresh min-RTT sample, within about two round trips at most, and it is
//     skipped while ordinary samples keep confirming the min RTT.
//
// Each state lives in its own file over the shared model, as Chromium's
// BBR2 is laid out; a state's update returns the next state and why, and
// QBBR.transition alone changes state and logs "a→b because …".
type QBBR struct {
	qbbrModel
	rng cycleRand
	log *slog.Logger

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
// model; it returns the state to move to and why, or nil to stay. Only
// QBBR.transition moves between states, so every change is logged in one
// place ("qbbr: startup→drain because …").
type qbbrMode interface {
	String() string
	enter(now time.Time)
	update(now time.Time, rs *RateSample, congBytes int) (next qbbrMode, why string)
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
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &QBBR{
		log:       log,
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

// transition is the one place the state changes after construction: it
// logs the change and its reason, then enters the new state.
func (q *QBBR) transition(now time.Time, next qbbrMode, why string) {
	if q.log.Enabled(context.Background(), slog.LevelDebug) {
		q.log.Debug("qbbr: "+q.mode.String()+"→"+next.String()+" because "+why,
			"round", q.round.count, "bw_mbit", q.bandwidth()*8/1e6, "noise_loss", q.noiseLoss(),
			"min_rtt", q.minRTT, "inflight", q.inFlight, "cwnd", q.cwnd)
	}
	q.setMode(now, next)
}

// resumeMode is the state to go back to after ProbeRTT: ProbeBW once the
// pipe was found full, Startup otherwise.
func (q *QBBR) resumeMode() qbbrMode {
	if q.fullBWReached {
		return &q.probeBW
	}
	return &q.startup
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
			q.transition(now, q.probeRTT.finish(now, false), "the sender restarted from idle")
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

	if next, why := q.mode.update(now, rs, congBytes); next != nil {
		q.transition(now, next, why)
	}
	if q.mode != &q.probeRTT && q.minRTTExpired(now) && !q.idleRestart {
		q.transition(now, &q.probeRTT, "no RTT sample near the min for "+q.probeRTTInterval.String())
	}
	if rs.Delivered > 0 {
		q.idleRestart = false
	}
	q.setCwnd(rs, congBytes)
	q.setPacingRate(q.sendRate(), q.mode.pacingGain())
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
	if !q.fullBWReached && q.srtt > 0 && q.startup.noQueue() {
		// In Startup the window is what grows (it doubles per round); the
		// rate estimate trails it by a round or more, most on lossy paths,
		// where each sample is discounted for loss noise. Until a queue
		// shows that the pipe is filling, pacing only spreads the window
		// over the round trip and never holds it back.
		r = max(r, float64(q.cwnd)/q.srtt.Seconds()*qbbrHighGain*0.99)
	}
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
	case cwnd < target || q.sampler.Delivered() < int64(q.cfg.InitialWindow*mss) || q.startup.uncapped(rs):
		// Startup grows by what the ACK resolved: delivered, or lost to
		// noise (qbbr_startup.go).
		cwnd += acked + max(rs.LostBytes-congBytes, 0)
	}
	cwnd = max(cwnd, q.cfg.MinWindow*mss)
	if !q.fullBWReached {
		// Until Startup has filled the pipe the window has measured
		// nothing below the initial one. A connection that trickles
		// (a trunk carrying only control messages before media starts)
		// stays in Startup with a BDP target of a few packets, so each
		// loss judged congestion took bytes off that never came back:
		// at 50% loss a trunk sat at 5 packets, and when media started
		// every packet in flight could be lost at once, leaving only
		// probe timeouts with exponential back-off: seconds of silence,
		// and the trunk's idle timeout.
		cwnd = max(cwnd, q.cfg.InitialWindow*mss)
	}
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
