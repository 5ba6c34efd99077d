package cc

import "time"

// qbbr's Startup: BBR's exponential search for the bottleneck rate, at
// 2/ln2 pacing and window gain over the noise-compensated rate. It ends
// when three rounds grow the estimate by less than 25%, or earlier when the
// classifier sees congestion loss (a queue overflowed) after growth has
// faltered for a round, which BBRv1 lacks and which keeps Startup from
// flooding a shallow buffer for two more rounds.

const (
	qbbrHighGain     = 2.885 // 2/ln2: doubles the delivery rate each round
	qbbrFullBWThresh = 1.25
	qbbrFullBWRounds = 3
)

type qbbrStartup struct {
	q           *QBBR
	fullBW      float64
	fullBWCount int
}

func (s *qbbrStartup) String() string      { return "startup" }
func (s *qbbrStartup) enter(time.Time)     { s.q.bwLo = 0 }
func (s *qbbrStartup) pacingGain() float64 { return qbbrHighGain }
func (s *qbbrStartup) cwndGain() float64   { return qbbrHighGain }
func (s *qbbrStartup) cwndCap() int        { return 0 }
func (s *qbbrStartup) class() uint8        { return classStartup }

func (s *qbbrStartup) update(now time.Time, rs *RateSample, congBytes int) {
	q := s.q
	s.checkFullBW(rs)
	// Congestion ends Startup once growth has faltered for a round: a flow
	// still doubling its delivery rate is not what overflows the queue (a
	// flow that starts while another fills the buffer would otherwise stop
	// at a sliver of the link).
	if congBytes > 0 && s.fullBWCount > 0 && q.onCongestion() {
		q.fullBWReached = true
	}
	if q.fullBWReached {
		q.setMode(now, &q.drain)
	}
}

// checkFullBW counts rounds in which the rate the path accepts grew by
// less than 25%; app-limited rounds say nothing about the path.
func (s *qbbrStartup) checkFullBW(rs *RateSample) {
	q := s.q
	if q.fullBWReached || !q.round.start || rs.IsAppLimited {
		return
	}
	if bw := q.sendRate(); bw >= s.fullBW*qbbrFullBWThresh {
		s.fullBW = bw
		s.fullBWCount = 0
		return
	}
	s.fullBWCount++
	q.fullBWReached = s.fullBWCount >= qbbrFullBWRounds
}
