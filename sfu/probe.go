package sfu

import "time"

// Bandwidth probing: how a subscriber held on lower layers by its estimate
// gets back up.
//
// A send-side estimate only learns what the link carries from what is sent.
// A subscriber moved to small layers sends little, and the estimator
// (bwe.go) then grows its estimate by 8 % a second: from a few hundred kbit/s to the
// ~1.9 Mbit/s a large layer needs with the selector's margin takes 15–25 s.
// So, as libwebrtc and LiveKit do, the SFU probes before it switches up:
// it sends extra packets, so that the link carries what the wanted layers
// would cost, for probeDuration. If the estimator saw no decrease and the
// congestion judge no congestion meanwhile, the link carried it, and the
// probed rate becomes a floor under the estimate for the selector, until
// the estimate catches up or congestion says otherwise. A failed probe is
// not repeated before a back-off that doubles up to probeMaxBackoff.
//
// The extra packets are RTX retransmissions of recently sent video packets
// (a browser counts and drops the duplicates), written by a padder
// goroutine that runs only while a probe does.
const (
	probeDuration   = 1500 * time.Millisecond
	probeInterval   = time.Second      // between a success and the next probe
	probeMinBackoff = 4 * time.Second  // after the first failure
	probeMaxBackoff = 60 * time.Second // failures double it up to this
	// probeMinGain: a probe is worth it only for this much more than the
	// estimate.
	probeMinGain = 100_000
)

// prober decides when a subscriber probes, at what rate, and what floor a
// successful probe puts under its estimate. It is pure logic: time comes in
// as an argument; one goroutine (the room loop) uses it.
type prober struct {
	probing  bool
	start    time.Time
	startEst int // the estimate when the probe started
	startPad int64
	pad      int // the padding rate asked for
	goal     int // the rate the probe confirms
	floor    int // a confirmed goal, 0 when none
	backoff  time.Duration
	next     time.Time // no probe starts before
}

// probeInput is what the room loop knows at a tick.
type probeInput struct {
	estimate  int   // the estimator's target, bits/s
	congested bool  // the congestion judge's verdict
	want      int   // what every track at its preferred layer would cost
	sending   int   // what the current decisions cost
	padded    int64 // bytes of probe packets sent so far (cumulative)
}

// tick returns the budget the selector uses (the estimate, or a probed
// floor above it) and the padding rate to send now (0: none).
func (p *prober) tick(now time.Time, in probeInput) (budget, padding int) {
	if in.congested {
		p.floor = 0
		if p.probing {
			p.fail(now)
		}
		return in.estimate, 0
	}
	if p.floor > 0 && in.estimate >= p.floor {
		p.floor = 0 // the estimate caught up
	}
	if p.probing {
		switch {
		case float64(in.estimate) < decreaseRatio*float64(p.startEst):
			p.fail(now)
		case now.Sub(p.start) < probeDuration:
			return max(in.estimate, p.floor), p.pad
		case float64(in.padded-p.startPad) < 0.5*float64(p.pad)/8*probeDuration.Seconds():
			// Half the padding did not go out (no RTX negotiated, nothing
			// sent to copy): the link was not tested.
			p.fail(now)
		default:
			p.probing, p.floor, p.backoff, p.next = false, p.goal, 0, now.Add(probeInterval)
		}
	}
	budget = max(in.estimate, p.floor)
	if in.want < budget+probeMinGain || now.Before(p.next) {
		return budget, 0
	}
	// Probe at most to three times the budget at a time (libwebrtc's
	// first probes go to 3× and 6×): a link that carries that is probed
	// again from there.
	p.probing, p.start, p.startEst, p.startPad, p.goal = true, now, in.estimate, in.padded, min(in.want, 3*budget)
	p.pad = max(p.goal-in.sending, 0)
	return budget, p.pad
}

// fail ends a probe that saw the estimate fall (or could not send), and
// backs off.
func (p *prober) fail(now time.Time) {
	p.probing = false
	p.backoff = min(max(2*p.backoff, probeMinBackoff), probeMaxBackoff)
	p.next = now.Add(p.backoff)
}
