package cc

import "time"

// NewReno is the simple loss-based controller of RFC 9002 §7: slow start,
// congestion avoidance and one window reduction per round of loss. It does
// not pace: PacingRate derives a rate from cwnd and smoothed RTT so the
// sender spreads a window over a round trip instead of bursting it.
type NewReno struct {
	cfg           Config
	cwnd          int
	ssthresh      int
	ackedBytes    int       // bytes acked in congestion avoidance since the last increase
	recoveryStart time.Time // packets sent before this do not cut the window again
	srtt          time.Duration
	minRTT        time.Duration
	state         string
}

// NewNewReno returns a NewReno controller.
func NewNewReno(cfg Config) *NewReno {
	cfg = cfg.withDefaults()
	return &NewReno{
		cfg:      cfg,
		cwnd:     cfg.InitialWindow * cfg.MSS,
		ssthresh: cfg.MaxWindow,
		state:    "slow_start",
	}
}

// Name implements Controller.
func (r *NewReno) Name() string { return "newreno" }

// OnPacketSent implements Controller.
func (r *NewReno) OnPacketSent(time.Time, SentPacket) {}

// OnAppLimited implements Controller.
func (r *NewReno) OnAppLimited(time.Time, int) {}

// OnCongestionEvent implements Controller.
func (r *NewReno) OnCongestionEvent(now time.Time, e *CongestionEvent) {
	if e.RTT.Smoothed > 0 {
		r.srtt = e.RTT.Smoothed
	}
	if e.RTT.Min > 0 {
		r.minRTT = e.RTT.Min
	}
	var lastLostSent time.Time
	for _, p := range e.Lost {
		if p.SentTime.After(lastLostSent) {
			lastLostSent = p.SentTime
		}
	}
	if len(e.Lost) > 0 && lastLostSent.After(r.recoveryStart) {
		r.recoveryStart = now
		r.cwnd = max(r.cwnd/2, r.minWindow())
		r.ssthresh = r.cwnd
		r.ackedBytes = 0
		r.state = "recovery"
	}
	for _, p := range e.Acked {
		if !p.SentTime.After(r.recoveryStart) {
			continue // acked while recovering: no growth
		}
		if r.cwnd < r.ssthresh {
			r.cwnd += p.Bytes
			r.state = "slow_start"
			continue
		}
		r.state = "congestion_avoidance"
		r.ackedBytes += p.Bytes
		if r.ackedBytes >= r.cwnd {
			r.ackedBytes -= r.cwnd
			r.cwnd += r.cfg.MSS
		}
	}
	r.cwnd = min(r.cwnd, r.cfg.MaxWindow)
}

// OnPersistentCongestion implements Controller.
func (r *NewReno) OnPersistentCongestion(now time.Time) {
	r.cwnd = r.minWindow()
	r.recoveryStart = now
	r.state = "recovery"
}

func (r *NewReno) minWindow() int { return r.cfg.MinWindow * r.cfg.MSS }

// PacingRate implements Controller: 1.25 windows per smoothed RTT.
func (r *NewReno) PacingRate() float64 {
	if r.srtt <= 0 {
		return 0
	}
	return 1.25 * float64(r.cwnd) / r.srtt.Seconds()
}

// CongestionWindow implements Controller.
func (r *NewReno) CongestionWindow() int { return r.cwnd }

// Stats implements Controller.
func (r *NewReno) Stats() Stats {
	return Stats{State: r.state, CWND: r.cwnd, PacingRate: r.PacingRate(), MinRTT: r.minRTT, PacingGain: 1.25}
}
