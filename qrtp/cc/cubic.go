package cc

import (
	"math"
	"time"
)

// Cubic is the loss-based baseline, CUBIC as RFC 9438 specifies it, with
// plain slow start (no HyStart). After a loss the window follows
// W(t) = C·(t−K)³ + W_max: concave up to the window where the last loss
// happened, flat around it, convex beyond. A Reno-friendly estimate keeps it
// at least as fast as Reno on short paths. It paces as Linux does with fq:
// twice cwnd per RTT in slow start, 1.2× in congestion avoidance.
type Cubic struct {
	cfg      Config
	cwnd     int // bytes
	ssthresh int

	wMax      float64   // segments: window at the last reduction
	k         float64   // seconds from the epoch until W(t) reaches wMax
	epoch     time.Time // start of this congestion-avoidance epoch; zero = none
	cwndPrior float64   // segments: window before the last reduction
	wEst      float64   // segments: Reno-friendly estimate

	recoveryStart time.Time
	inRecovery    bool
	srtt, minRTT  time.Duration
	loss          lossMeter
}

// RFC 9438 constants.
const (
	cubicC    = 0.4
	cubicBeta = 0.7
)

// cubicAlpha makes the Reno-friendly estimate grow like Reno with the same
// average window under CUBIC's β (RFC 9438 §4.3).
var cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)

// NewCubic returns a CUBIC controller.
func NewCubic(cfg Config) *Cubic {
	cfg = cfg.withDefaults()
	return &Cubic{cfg: cfg, cwnd: cfg.InitialWindow * cfg.MSS, ssthresh: math.MaxInt}
}

// Name implements Controller.
func (c *Cubic) Name() string { return "cubic" }

// OnPacketSent implements Controller.
func (c *Cubic) OnPacketSent(time.Time, SentPacket) {}

// OnAppLimited implements Controller; growth is gated on being cwnd-limited
// at each ACK instead.
func (c *Cubic) OnAppLimited(time.Time, int) {}

func (c *Cubic) segs(bytes int) float64 { return float64(bytes) / float64(c.cfg.MSS) }

// OnCongestionEvent implements Controller.
func (c *Cubic) OnCongestionEvent(now time.Time, e *CongestionEvent) {
	if e.RTT.Smoothed > 0 {
		c.srtt = e.RTT.Smoothed
	}
	if e.RTT.Min > 0 {
		c.minRTT = e.RTT.Min
	}
	acked, lost := 0, 0
	var lastLostSent time.Time
	for _, p := range e.Lost {
		lost += p.Bytes
		if p.SentTime.After(lastLostSent) {
			lastLostSent = p.SentTime
		}
	}
	for _, p := range e.Acked {
		acked += p.Bytes
	}
	c.loss.add(acked, lost, max(c.cwnd, 16*c.cfg.MSS))
	// One reduction per round trip: only a loss of a packet sent after the
	// last reduction starts a new one.
	if len(e.Lost) > 0 && (!c.inRecovery || lastLostSent.After(c.recoveryStart)) {
		c.reduce(now)
	}
	if c.inRecovery {
		for _, p := range e.Acked {
			if p.SentTime.After(c.recoveryStart) {
				c.inRecovery = false
				break
			}
		}
	}
	if c.inRecovery || !c.cwndLimited(e.PriorInFlight) {
		return
	}
	for _, p := range e.Acked {
		c.grow(now, p.Bytes)
	}
	c.cwnd = min(c.cwnd, c.cfg.MaxWindow)
}

// cwndLimited reports whether the sender was using its window; CUBIC must
// not grow a window the application is not filling (RFC 9438 §5.8).
func (c *Cubic) cwndLimited(priorInFlight int) bool {
	if c.cwnd < c.ssthresh {
		return priorInFlight > c.cwnd/2
	}
	return priorInFlight+3*c.cfg.MSS >= c.cwnd
}

// reduce is the multiplicative decrease with fast convergence.
func (c *Cubic) reduce(now time.Time) {
	w := c.segs(c.cwnd)
	c.cwndPrior = w
	if w < c.wMax {
		// The window is below the last peak: another flow arrived, so
		// release bandwidth faster by remembering a lower peak.
		c.wMax = w * (1 + cubicBeta) / 2
	} else {
		c.wMax = w
	}
	c.ssthresh = max(int(math.Round(float64(c.cwnd)*cubicBeta)), c.cfg.MinWindow*c.cfg.MSS)
	c.cwnd = c.ssthresh
	c.epoch = time.Time{}
	c.recoveryStart = now
	c.inRecovery = true
}

// grow applies one ACK of acked bytes.
func (c *Cubic) grow(now time.Time, acked int) {
	if c.cwnd < c.ssthresh {
		c.cwnd += acked
		return
	}
	w := c.segs(c.cwnd)
	if c.epoch.IsZero() {
		c.epoch = now
		if c.wMax <= w {
			// No reduction yet (left slow start by ssthresh): start on
			// the flat part of the curve.
			c.wMax = w
			c.k = 0
		} else {
			c.k = math.Cbrt((c.wMax - w) / cubicC)
		}
		c.wEst = w
	}
	rtt := c.srtt
	if rtt <= 0 {
		rtt = 100 * time.Millisecond
	}
	t := now.Sub(c.epoch) + rtt
	target := c.wCubic(t.Seconds())
	target = min(max(target, w), 1.5*w)

	alpha := cubicAlpha
	if c.wEst >= c.cwndPrior {
		alpha = 1
	}
	c.wEst += alpha * c.segs(acked) / w
	if target < c.wEst {
		target = c.wEst // Reno-friendly region
	}
	inc := (target - w) / w * float64(acked)
	c.cwnd += int(math.Ceil(inc))
}

// wCubic is W(t) in segments, t seconds into the epoch.
func (c *Cubic) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d + c.wMax
}

// OnPersistentCongestion implements Controller: back to the minimum window
// and slow start up to β × the window that failed.
func (c *Cubic) OnPersistentCongestion(now time.Time) {
	c.ssthresh = max(int(math.Round(float64(c.cwnd)*cubicBeta)), c.cfg.MinWindow*c.cfg.MSS)
	c.wMax = c.segs(c.cwnd)
	c.cwnd = c.cfg.MinWindow * c.cfg.MSS
	c.epoch = time.Time{}
	c.recoveryStart = now
	c.inRecovery = true
}

// PacingRate implements Controller with Linux's pacing ratios.
func (c *Cubic) PacingRate() float64 {
	if c.srtt <= 0 {
		return 0
	}
	ratio := 1.2
	if c.cwnd < c.ssthresh {
		ratio = 2
	}
	return ratio * float64(c.cwnd) / c.srtt.Seconds()
}

// CongestionWindow implements Controller.
func (c *Cubic) CongestionWindow() int { return c.cwnd }

// Stats implements Controller. CUBIC treats every loss as congestion.
func (c *Cubic) Stats() Stats {
	state := "congestion_avoidance"
	switch {
	case c.inRecovery:
		state = "recovery"
	case c.cwnd < c.ssthresh:
		state = "slow_start"
	}
	lr := c.loss.rate()
	gain := 1.2
	if c.cwnd < c.ssthresh {
		gain = 2
	}
	return Stats{
		State: state, CWND: c.cwnd, PacingRate: c.PacingRate(), MinRTT: c.minRTT,
		PacingGain: gain, LossRate: lr, CongestedLoss: lr,
	}
}
