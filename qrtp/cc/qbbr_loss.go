package cc

import (
	"math"
	"time"
)

// This file is qbbr's loss classifier: the part of the path model that
// decides whether a loss is noise (random loss the sender cannot cause or
// cure) or congestion (a queue overflowing because we, or someone, send too
// fast).
//
// The talk's observation is that noise loss leaves the RTT statistically
// unchanged. A loss is judged congestion only when both hold:
//
//  1. there is more loss than the noise baseline explains: the lost count
//     in the current round exceeds the baseline rate by more than four
//     binomial standard deviations (plus two packets, so that one or two
//     losses on a clean path are not "significant"), or by three deviations
//     and half a packet when the queue is clearly deeper than our own
//     probing makes it or has stood all round; and
//  2. something shows that a queue caused it: queueing delay (RTT − min
//     RTT) is well above its reference level from uncongested rounds or
//     deeper than 0.4 min RTT, or a queue has stood all round, or,
//     over recent rounds, packets sent while probing
//     above the estimate were lost significantly more often than packets
//     sent at the estimate (loss that tracks the sending rate, which is how
//     a shallow buffer that cannot show much delay still gives itself away).
//
// Everything else is noise, and feeds the noise baseline that the pacing
// gain compensates for.

// Packet classes qbbr tags its packets with: the pacing regime they left in.
const (
	classCruise  uint8 = iota // gain at or below 1
	classProbe                // ProbeBW's gain above 1
	classStartup              // Startup's high gain
)

const (
	lossHistoryRounds = 16
	// lossSignificanceSD and lossSignificanceSlack set how far above the
	// baseline a round's loss must be to count as excess.
	lossSignificanceSD    = 4.0
	lossSignificanceSlack = 2.0
	// With a standing queue as evidence, a weaker test suffices.
	lossStandingSD    = 3.0
	lossStandingSlack = 0.5
	// Rate tracking needs this many packets in each class to be judged.
	rateTrackMinPackets = 100
)

// lossRound is what one packet-timed round saw, in bytes.
type lossRound struct {
	acked, lost         [NumPacketClasses]int
	noiseLost, congLost int
	congested           bool
	qSum                float64 // seconds
	qN                  int
	qMin                time.Duration
	hasQMin             bool
}

func (r *lossRound) total() (acked, lost int) {
	for i := range r.acked {
		acked += r.acked[i]
		lost += r.lost[i]
	}
	return acked, lost
}

// lossClassifier keeps per-round loss and delay statistics and classifies
// each loss event.
type lossClassifier struct {
	mss  int
	cur  lossRound
	hist [lossHistoryRounds]lossRound
	n    int // completed rounds in hist
	next int // hist slot for the next completed round

	qRef, qDev     float64 // seconds: reference queueing delay and its spread
	hasQRef        bool
	standingThresh time.Duration // from the min RTT at the last classify
	qFast          float64       // seconds: recent queueing delay (EWMA, 1/8 per ACK)

	baseline   float64 // noise-loss fraction of recent rounds
	noiseRate  float64
	congRate   float64
	tracksRate bool
}

func newLossClassifier(mss int) *lossClassifier {
	return &lossClassifier{mss: mss}
}

// onRTT records one queueing-delay sample.
func (c *lossClassifier) onRTT(q time.Duration) {
	s := q.Seconds()
	c.qFast += (s - c.qFast) / 8
	c.cur.qSum += s
	c.cur.qN++
	if !c.cur.hasQMin || q < c.cur.qMin {
		c.cur.qMin, c.cur.hasQMin = q, true
	}
}

// standingQueue reports whether a queue of at least thresh has stood for
// the whole current round so far (with enough samples to say so).
func (c *lossClassifier) standingQueue(thresh time.Duration) bool {
	return c.cur.qN >= 8 && c.cur.hasQMin && c.cur.qMin > thresh
}

// delayRisen reports whether queueing delay has risen: how far above the reference the recent queueing delay
// must be to count as a rise: four spreads, and at least a tenth of the
// min RTT or a millisecond, so that ordinary jitter and our own probing
// (which queues about a quarter of the min RTT, briefly) stay below it
// unless the reference says the queue is usually empty.
func (c *lossClassifier) delayRisen(minRTT time.Duration) bool {
	if minRTT <= 0 {
		return false
	}
	floor := max(minRTT.Seconds()/10, 0.001)
	return c.qFast > c.qRef+max(4*c.qDev, floor) || c.queueBeyondProbing(minRTT)
}

// queueBeyondProbing reports strong delay evidence: a queue that stood all
// round, or one clearly deeper than our own probing builds (that is a
// quarter of min RTT; the margin keeps a probe's peak out). Either is a
// queue we did not make on purpose, most likely someone else's.
func (c *lossClassifier) queueBeyondProbing(minRTT time.Duration) bool {
	if minRTT <= 0 {
		return false
	}
	return c.standingQueue(c.standingThresh) || c.qFast > 0.4*minRTT.Seconds()
}

// standingQueueThreshold is the queueing delay that, held for a whole
// round, means the sender is above the bottleneck rate.
func standingQueueThreshold(minRTT time.Duration) time.Duration {
	return max(minRTT/20, 500*time.Microsecond)
}

// classify accounts one event and returns the bytes of its loss judged
// congestion (the rest is noise).
func (c *lossClassifier) classify(rs *RateSample, minRTT time.Duration) int {
	for i := range rs.AckedByClass {
		c.cur.acked[i] += rs.AckedByClass[i]
		c.cur.lost[i] += rs.LostByClass[i]
	}
	// Losses of packets the sampler no longer tracked count as cruise.
	var tagged int
	for _, b := range rs.LostByClass {
		tagged += b
	}
	c.cur.lost[classCruise] += rs.LostBytes - tagged
	if minRTT > 0 {
		c.standingThresh = standingQueueThreshold(minRTT)
	}
	if rs.LostBytes == 0 {
		return 0
	}
	acked, lost := c.cur.total()
	mss := float64(c.mss)
	n := float64(acked+lost) / mss
	l := float64(lost) / mss
	p0 := c.baseline
	expected := n * p0
	excess := l - expected
	// A queue that has stood all round is itself a significant delay rise;
	// then the loss only has to exceed the baseline plainly, not by three
	// deviations plus two packets (which on a small BDP, where a competing
	// flow's overflow costs us one packet a round, would never happen).
	z, slack := lossSignificanceSD, lossSignificanceSlack
	if c.queueBeyondProbing(minRTT) {
		z, slack = lossStandingSD, lossStandingSlack
	}
	significant := excess > z*math.Sqrt(n*p0*(1-p0))+slack
	cong := 0
	if significant && (c.delayRisen(minRTT) || c.tracksRate) {
		cong = min(rs.LostBytes, max(0, int(excess*mss)-c.cur.congLost))
	}
	if cong > 0 {
		c.cur.congested = true
	}
	c.cur.congLost += cong
	c.cur.noiseLost += rs.LostBytes - cong
	return cong
}

// endRound closes the current round: it updates the delay reference from
// an uncongested round, the noise baseline and the rate-tracking test.
func (c *lossClassifier) endRound() {
	r := c.cur
	// The reference is the delay of rounds in which the queue emptied at
	// some point: a queue that stood all round is not a level to get used
	// to, even without loss.
	if !r.congested && r.qN > 0 && (!r.hasQMin || r.qMin <= c.standingThresh) {
		mean := r.qSum / float64(r.qN)
		if !c.hasQRef {
			c.qRef, c.qDev, c.hasQRef = mean, 0, true
		} else {
			c.qDev += (math.Abs(mean-c.qRef) - c.qDev) / 4
			c.qRef += (mean - c.qRef) / 4
		}
	}
	c.hist[c.next] = r
	c.next = (c.next + 1) % lossHistoryRounds
	c.n = min(c.n+1, lossHistoryRounds)
	c.cur = lossRound{}
	c.summarise()
}

// summarise recomputes the windowed rates from the history.
func (c *lossClassifier) summarise() {
	var total, noise, cong int
	var sent, lost [NumPacketClasses]int
	for i := 0; i < c.n; i++ {
		r := &c.hist[i]
		a, l := r.total()
		total += a + l
		noise += r.noiseLost
		cong += r.congLost
		for k := range r.acked {
			sent[k] += r.acked[k] + r.lost[k]
			lost[k] += r.lost[k]
		}
	}
	if total > 0 {
		c.noiseRate = float64(noise) / float64(total)
		c.congRate = float64(cong) / float64(total)
	}
	c.baseline = c.noiseRate
	c.tracksRate = lossTracksRate(sent[classProbe], lost[classProbe], sent[classCruise], lost[classCruise], c.mss)
}

// lossTracksRate is a two-proportion z-test: were packets sent above the
// estimate lost significantly more often than packets sent at it?
func lossTracksRate(upSent, upLost, baseSent, baseLost, mss int) bool {
	nu := float64(upSent) / float64(mss)
	nb := float64(baseSent) / float64(mss)
	if nu < rateTrackMinPackets || nb < rateTrackMinPackets {
		return false
	}
	pu := float64(upLost) / float64(upSent)
	pb := float64(baseLost) / float64(baseSent)
	pool := float64(upLost+baseLost) / float64(upSent+baseSent)
	se := math.Sqrt(pool * (1 - pool) * (1/nu + 1/nb))
	if se == 0 {
		return false
	}
	return (pu-pb)/se > 3 && pu-pb > 0.01+0.1*pb
}
