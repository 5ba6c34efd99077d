package cc

import "time"

// qbbr's Startup: BBR's exponential search for the bottleneck rate, made to
// finish quickly and cleanly on long lossy paths.
//
//   - It paces at 2/ln2 over the noise-compensated rate, but its window
//     gain is 2, as in BBRv3: once the estimate reaches the link, the
//     window holds the queue Startup builds to about one BDP while the
//     full-pipe test takes its rounds. With BBRv1's 2.885 the queue grew to
//     1.9 BDP, overflowed a 1-BDP buffer and lost two thirds of a round's
//     packets at the end of Startup, whose retransmissions then stalled a
//     reliable stream for seconds.
//   - The window grows by what each ACK resolved, delivered or lost to
//     noise, so it doubles per round whatever the noise loss (the
//     loss-adjusted delivery). Grown by acknowledged bytes only, it grew
//     1+(1−p) per round: at 50% loss the search took twice as many rounds.
//     Until a queue forms it is not capped by the estimate, which trails
//     it, and pacing spreads it over the round trip instead of holding it
//     back (uncapped, noQueue).
//   - It ends when three rounds grow the estimate by less than 25%, or
//     after one such round when the path shows it is full: loss the
//     classifier judges congestion (a queue overflowed), or a queue that
//     stood through the whole round (the delay rose and stayed, so we send
//     above the bottleneck). Noise loss never ends it. Requiring one flat
//     round first keeps a flow that starts beside a full buffer (someone
//     else's standing queue) from stopping at a sliver of the link. A
//     round the sender did not fill (short of data, or held by flow
//     control) says nothing of growth; it ends Startup only when a queue
//     stood all round with 1.5 BDP of ours in flight.

const (
	qbbrHighGain        = 2.885 // 2/ln2: doubles the delivery rate each round
	qbbrStartupCwndGain = 2.0
	qbbrFullBWThresh    = 1.25
	qbbrFullBWRounds    = 3
)

type qbbrStartup struct {
	q           *QBBR
	fullBW      float64
	fullBWCount int
	// roundBW and roundFlat run the same test on the rate delivered over
	// each whole round, which bunched ACKs cannot inflate: in real time a
	// scheduler stall that releases a burst of ACKs makes a delivery-rate
	// sample (and the max filter) read above the link, which kept the
	// estimate "growing" for seconds with the queue full.
	roundBW   float64
	roundFlat int
}

func (s *qbbrStartup) String() string      { return "startup" }
func (s *qbbrStartup) enter(time.Time)     { s.q.bwLo = 0 }
func (s *qbbrStartup) pacingGain() float64 { return qbbrHighGain }
func (s *qbbrStartup) cwndGain() float64   { return qbbrStartupCwndGain }
func (s *qbbrStartup) cwndCap() int        { return 0 }
func (s *qbbrStartup) class() uint8        { return classStartup }

func (s *qbbrStartup) update(_ time.Time, rs *RateSample, congBytes int) (qbbrMode, string) {
	q := s.q
	if why := s.checkFullBW(rs); why != "" {
		q.fullBWReached = true
		return &q.drain, why
	}
	// Congestion loss ends Startup once growth has faltered for a round:
	// a flow still doubling its delivery rate is not what overflows the
	// queue (a flow that starts while another fills the buffer would
	// otherwise stop at a sliver of the link).
	if congBytes > 0 && s.faltered() && q.onCongestion() {
		q.fullBWReached = true
		return &q.drain, "congestion loss after growth faltered"
	}
	return nil, ""
}

// noQueue reports that no queue has formed yet: the pipe is not full, so
// the window and the pacing need not hold back.
func (s *qbbrStartup) noQueue() bool {
	return s.q.queueDelay() < standingQueueThreshold(s.q.minRTT)
}

// uncapped reports whether the window may grow past its target (window
// gain × estimate): while the sender fills at least half of it, is not
// short of data, and no queue has formed. The target trails the window by
// a round or more, most on lossy paths, and capping at it held a media
// flow needing four times its rate in FEC at 50% loss to 90 KB for half a
// second. Once a queue forms, the target bounds what Startup can queue;
// and a window the sender does not use (a media flow between frames)
// must not grow at all, or it would grow without bound.
func (s *qbbrStartup) uncapped(rs *RateSample) bool {
	return !rs.IsAppLimited && 2*rs.PriorInFlight >= s.q.cwnd && s.noQueue()
}

// faltered reports whether growth has stalled for a round by either test.
func (s *qbbrStartup) faltered() bool { return s.fullBWCount > 0 || s.roundFlat > 0 }

// checkFullBW runs at each round start. It counts rounds in which the rate
// the path accepts grew by less than 25% (app-limited rounds say nothing
// about the path) and returns why the pipe is full, or "".
func (s *qbbrStartup) checkFullBW(rs *RateSample) string {
	q := s.q
	if q.fullBWReached || !q.round.start {
		return ""
	}
	if rs.IsAppLimited {
		// Growth cannot be judged over a round the sender did not fill
		// (short of data, or held by the receiver's flow control, as a
		// reliable stream is while a hole waits on a retransmission).
		// But a queue that stood all round while 1.5 BDP of ours were in
		// flight is ours: the pipe is full. Without this a flow-control
		// bound Startup kept a full queue for seconds at 20% loss.
		if s.standing() && q.inFlight >= q.bdp(1.5) {
			return "a queue stood all round with 1.5 BDP of ours in flight"
		}
		return ""
	}
	if bw := q.sendRate(); bw >= s.fullBW*qbbrFullBWThresh {
		s.fullBW = bw
		s.fullBWCount = 0
	} else {
		s.fullBWCount++
	}
	if r := q.lastRoundRate; r >= s.roundBW*qbbrFullBWThresh {
		s.roundBW = r
		s.roundFlat = 0
	} else {
		s.roundFlat++
	}
	switch {
	case s.fullBWCount >= qbbrFullBWRounds:
		return "the estimate grew less than 25% in 3 rounds"
	case s.roundFlat >= qbbrFullBWRounds:
		return "the delivered rate grew less than 25% in 3 rounds"
	case s.faltered() && s.standing():
		return "growth faltered while a queue stood all round"
	}
	return ""
}

// standing reports that a queue stood through the whole round that ended.
func (s *qbbrStartup) standing() bool {
	q := s.q
	return q.lastRoundQValid && q.lastRoundQMin > standingQueueThreshold(q.minRTT)
}
