package cc

import "time"

// BBR1 is BBR version 1 with the semantics of Linux net/ipv4/tcp_bbr.c:
// the baseline the talk measured QUIC against. It models the path as a
// windowed-max delivery rate (10 rounds) and a windowed-min RTT (10 s),
// paces at gain × bandwidth, and caps the window at gain × BDP plus an
// ACK-aggregation allowance. It deliberately keeps Linux's weaknesses on
// lossy paths: delivery-rate samples shrink with random loss, the
// long-term ("policer") estimator pins the rate once loss passes ~20%, and
// recovery uses packet conservation. The code is written from the Linux
// logic in bytes instead of packets; see bbr1_model.go and bbr1_window.go.
type BBR1 struct {
	cfg     Config
	rng     cycleRand
	sampler *Sampler

	mode        bbrMode
	bw          *WindowedFilter // max delivery rate (bytes/s) over bbr1BWRounds rounds
	pacingGain  float64
	cwndGain    float64
	pacingRate  float64
	hasSeenRTT  bool
	cwnd        int
	priorCwnd   int
	inFlight    int
	largestSent uint64
	idleRestart bool
	srtt        time.Duration

	// Packet-timed rounds.
	roundCount         int64
	nextRoundDelivered int64
	roundStart         bool

	// Min RTT and ProbeRTT.
	minRTT            time.Duration
	minRTTStamp       time.Time
	probeRTTInterval  time.Duration
	probeRTTDoneStamp time.Time
	probeRTTRoundDone bool

	// ProbeBW gain cycling.
	cycleIdx   int
	cycleStamp time.Time

	// Startup's full-pipe detector.
	fullBW        float64
	fullBWCount   int
	fullBWReached bool

	// Loss recovery, as TCP's CA states drive it.
	caState            caState
	prevCAState        caState
	recoveryEnd        uint64 // recovery ends when a packet above this is acked
	packetConservation bool

	agg  ackAggregation
	lt   longTermBW
	loss lossMeter
}

type bbrMode int

const (
	bbrStartup bbrMode = iota
	bbrDrain
	bbrProbeBW
	bbrProbeRTT
)

func (m bbrMode) String() string {
	return [...]string{"startup", "drain", "probe_bw", "probe_rtt"}[m]
}

// caState mirrors the TCP congestion-avoidance states BBR reacts to.
type caState int

const (
	caOpen     caState = iota
	caRecovery         // fast recovery after a loss
	caLoss             // after a retransmission timeout (here: persistent congestion)
)

// Constants from tcp_bbr.c.
const (
	bbr1HighGain        = 2.885 // 2/ln(2): doubles the delivery rate each round
	bbr1DrainGain       = 1 / bbr1HighGain
	bbr1CwndGain        = 2.0
	bbr1CycleLen        = 8
	bbr1CycleRand       = 7
	bbr1BWRounds        = bbr1CycleLen + 2
	bbr1MinRTTWindow    = 10 * time.Second
	bbr1ProbeRTTTime    = 200 * time.Millisecond
	bbr1CwndMinPackets  = 4
	bbr1FullBWThresh    = 1.25
	bbr1FullBWCount     = 3
	bbr1PacingMargin    = 0.01
	bbr1MinTSORate      = 1200000 / 8 // bytes/s below which one segment is the send quantum
	bbr1ExtraAckedGain  = 1.0
	bbr1ExtraAckedWin   = 5
	bbr1ExtraAckedMax   = 100 * time.Millisecond
	bbr1AckEpochResetPk = 1 << 20
)

var bbr1PacingGains = [bbr1CycleLen]float64{1.25, 0.75, 1, 1, 1, 1, 1, 1}

// NewBBR1 returns a BBRv1 controller.
func NewBBR1(cfg Config) *BBR1 {
	cfg = cfg.withDefaults()
	b := &BBR1{
		cfg:              cfg,
		rng:              cycleRand{seed: cfg.Seed, stream: 0xbb1},
		sampler:          NewSampler(),
		bw:               NewMaxFilter(bbr1BWRounds),
		cwnd:             cfg.InitialWindow * cfg.MSS,
		probeRTTInterval: bbr1MinRTTWindow,
	}
	if cfg.ProbeRTTInterval > 0 {
		b.probeRTTInterval = cfg.ProbeRTTInterval
	}
	b.priorCwnd = b.cwnd
	b.initPacingRateFromRTT()
	b.mode = bbrStartup
	b.updateGains()
	b.lt.reset(b)
	return b
}

// Name implements Controller.
func (b *BBR1) Name() string { return "bbr1" }

// OnPacketSent implements Controller.
func (b *BBR1) OnPacketSent(now time.Time, p SentPacket) {
	b.rng.onSend(now)
	before := p.BytesInFlight - p.Bytes
	if before <= 0 && b.sampler.AppLimited() {
		b.onIdleRestart(now)
	}
	b.sampler.OnPacketSent(now, p.Number, p.Bytes, max(before, 0))
	b.inFlight = p.BytesInFlight
	b.largestSent = max(b.largestSent, p.Number)
}

// onIdleRestart is Linux's CA_EVENT_TX_START after an app-limited idle.
func (b *BBR1) onIdleRestart(now time.Time) {
	b.idleRestart = true
	b.agg.restart(now)
	switch b.mode {
	case bbrProbeBW:
		// No need for more speed: pace at the estimate, not above it.
		b.setPacingRate(b.bandwidth(), 1)
	case bbrProbeRTT:
		b.checkProbeRTTDone(now)
	}
}

// OnAppLimited implements Controller.
func (b *BBR1) OnAppLimited(_ time.Time, bytesInFlight int) {
	b.sampler.OnAppLimited(bytesInFlight)
}

// OnPersistentCongestion implements Controller: TCP's RTO, which moves the
// connection to the Loss state with a one-packet window.
func (b *BBR1) OnPersistentCongestion(now time.Time) {
	b.saveCwnd()
	b.cwnd = b.cfg.MSS
	b.caState = caLoss
	b.recoveryEnd = b.largestSent
	// Linux's bbr_set_state(TCP_CA_Loss): an RTO ends a round and restarts
	// the full-bandwidth search, and counts as a loss for the policer model.
	b.prevCAState = caLoss
	b.fullBW = 0
	b.roundStart = true
	b.lt.sample(b, now, &RateSample{LostPackets: 1})
}

// OnCongestionEvent implements Controller: bbr_main.
func (b *BBR1) OnCongestionEvent(now time.Time, e *CongestionEvent) {
	if e.RTT.Smoothed > 0 {
		b.srtt = e.RTT.Smoothed
	}
	rs := b.sampler.OnCongestionEvent(now, e, b.minRTT)
	b.inFlight = e.BytesInFlight
	b.loss.add(rs.AckedBytes, rs.LostBytes, max(b.cwnd, 16*b.cfg.MSS))
	b.updateCAState(e, &rs)

	b.updateModel(now, e, &rs)
	bw := b.bandwidth()
	b.setPacingRate(bw, b.pacingGain)
	b.setCwnd(&rs, bw, b.cwndGain)
}

// updateCAState does what TCP's ACK processing does before it calls the
// congestion controller: enter recovery on a new loss, leave recovery (or
// the loss state) once everything sent before it has been dealt with. TCP
// stays in recovery while holes below its recovery point remain; the QUIC
// equivalent (as Chromium's BBR port does it) is to push the recovery point
// to the newest packet on every loss and to leave recovery on an ACK that
// reports no loss and covers a packet sent after that point.
func (b *BBR1) updateCAState(e *CongestionEvent, rs *RateSample) {
	if b.caState != caOpen && rs.LostPackets == 0 {
		for _, p := range e.Acked {
			if p.Number > b.recoveryEnd {
				b.caState = caOpen
				break
			}
		}
	}
	if rs.LostPackets == 0 {
		return
	}
	if b.caState == caOpen {
		b.saveCwnd() // TCP asks for ssthresh on entering recovery
		b.caState = caRecovery
	}
	b.recoveryEnd = b.largestSent
}

// updateModel is bbr_update_model: the path model first, then the gains.
func (b *BBR1) updateModel(now time.Time, e *CongestionEvent, rs *RateSample) {
	b.updateBW(now, rs)
	b.agg.update(rs, b.bandwidth(), b.roundStart, b.cwnd, b.cfg.MSS, b.sampler.DeliveredTime())
	b.updateCyclePhase(rs)
	b.checkFullBWReached(rs)
	b.checkDrain()
	b.updateMinRTT(now, e, rs)
	b.updateGains()
}

// bandwidth is the estimate BBR paces at: the long-term rate while a
// policer is suspected, the windowed max otherwise.
func (b *BBR1) bandwidth() float64 {
	if b.lt.useBW {
		return b.lt.bw
	}
	return b.bw.Get()
}

func (b *BBR1) initPacingRateFromRTT() {
	rtt := time.Millisecond // nominal until the first sample
	if b.srtt > 0 {
		rtt = b.srtt
		b.hasSeenRTT = true
	}
	bw := float64(b.cwnd) / rtt.Seconds()
	b.pacingRate = b.rateWithGain(bw, bbr1HighGain)
}

func (b *BBR1) rateWithGain(bw, gain float64) float64 {
	return bw * gain * (1 - bbr1PacingMargin)
}

// setPacingRate never lowers the rate before the pipe is known to be full,
// so a slow start is not slowed further by its own early samples.
func (b *BBR1) setPacingRate(bw, gain float64) {
	rate := b.rateWithGain(bw, gain)
	if !b.hasSeenRTT && b.srtt > 0 {
		b.initPacingRateFromRTT()
	}
	if b.fullBWReached || rate > b.pacingRate {
		b.pacingRate = rate
	}
}

// PacingRate implements Controller.
func (b *BBR1) PacingRate() float64 { return b.pacingRate }

// CongestionWindow implements Controller.
func (b *BBR1) CongestionWindow() int { return b.cwnd }

// Stats implements Controller. BBRv1 does not tell noise from congestion:
// it reports all loss as congestion.
func (b *BBR1) Stats() Stats {
	lr := b.loss.rate()
	return Stats{
		State:         b.mode.String(),
		CWND:          b.cwnd,
		PacingRate:    b.pacingRate,
		BandwidthEst:  b.bandwidth(),
		MinRTT:        b.minRTT,
		PacingGain:    b.pacingGain,
		LossRate:      lr,
		CongestedLoss: lr,
	}
}
