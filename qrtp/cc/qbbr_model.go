package cc

import (
	"math"
	"time"
)

// This file is qbbr's network model, shared by its four states: the
// delivery-rate sampler and bandwidth filter, min RTT, packet-timed rounds,
// the per-round delivery rate, the ACK-aggregation allowance and the loss
// classifier (qbbr_loss.go).
//
// The one idea that makes qbbr work on lossy paths: the rate a path accepts
// from us is its delivery rate divided by (1 − p), p being the noise loss.
// With loss before the bottleneck the receiver sees the bottleneck rate B
// once we send B/(1−p), so delivery/(1−p) = B/(1−p) is the rate that fills
// the link. With loss after the bottleneck the receiver sees B·(1−p) and
// delivery/(1−p) = B, exactly the rate the link carries; sending faster only
// builds a queue. The same formula is right for both placements, so the
// model never needs to know which one it faces. Errors in the estimate
// show up as queueing delay, which the states watch.

// roundCounter counts packet-timed rounds: a round ends when a packet sent
// after it began is acknowledged.
type roundCounter struct {
	count         int64
	nextDelivered int64
	start         bool
}

func (r *roundCounter) update(rs *RateSample, delivered int64) {
	r.start = false
	if rs.Valid && rs.PriorDelivered >= r.nextDelivered {
		r.nextDelivered = delivered
		r.count++
		r.start = true
	}
}

const (
	qbbrBWRounds = 10 // bandwidth filter window, as BBR: a gain cycle plus two
	// qbbrMaxNoiseLoss caps the compensated loss: beyond 70% the path is
	// more loss than link, and 1/(1−p) would amplify estimation error.
	qbbrMaxNoiseLoss = 0.7
	// qbbrLCBSigma is how many standard errors of binomial loss noise are
	// taken off each delivery-rate sample before the max filter sees it.
	// Without it the filter keeps the luckiest sample of ten rounds and
	// overestimates the link by a few percent on lossy paths.
	qbbrLCBSigma = 1.0
	// qbbrMinRTTTolerance: a sample within this fraction of min RTT shows
	// the queue is empty, which is all ProbeRTT would find out.
	qbbrMinRTTTolerance = 1.0 / 32
)

type qbbrModel struct {
	cfg     Config
	sampler *Sampler
	bw      *WindowedFilter // max of LCB-adjusted delivery-rate samples, bytes/s, by round
	// bwLo, when set, bounds the estimate from above after congestion or a
	// standing queue, until the next probe (BBRv2's bw_lo): cutting the max
	// filter itself would not hold, since the samples of the flight sent
	// before the cut still arrive for a round and restore it.
	bwLo  float64
	round roundCounter
	loss  *lossClassifier
	agg   ackAggregation

	minRTT           time.Duration
	minRTTStamp      time.Time // when a sample last confirmed or lowered minRTT
	probeRTTInterval time.Duration
	latestRTT        time.Duration
	nearMinRTT       bool // this ACK's RTT sample was within tolerance of min
	srtt             time.Duration

	inFlight    int
	largestSent uint64

	// Delivery over the round that just ended: when the link is saturated
	// this is the share of the bottleneck we actually get, an unbiased
	// number where the max filter is an optimistic one.
	roundOpenDelivered int64
	roundOpenTime      time.Time
	lastRoundRate      float64
	lastRoundQMin      time.Duration
	lastRoundQValid    bool
}

func newQBBRModel(cfg Config) qbbrModel {
	m := qbbrModel{
		cfg:              cfg,
		sampler:          NewSampler(),
		bw:               NewMaxFilter(qbbrBWRounds),
		loss:             newLossClassifier(cfg.MSS),
		probeRTTInterval: 5 * time.Second,
	}
	if cfg.ProbeRTTInterval > 0 {
		m.probeRTTInterval = cfg.ProbeRTTInterval
	}
	return m
}

// bandwidth is the delivery-rate estimate: what the receiver gets.
func (m *qbbrModel) bandwidth() float64 {
	if m.bwLo > 0 {
		return min(m.bw.Get(), m.bwLo)
	}
	return m.bw.Get()
}

// lowerBound caps the estimate at bw until the next probe.
func (m *qbbrModel) lowerBound(bw float64) {
	if m.bwLo == 0 || bw < m.bwLo {
		m.bwLo = bw
	}
}

// noiseLoss is the recent fraction of packets lost to noise.
func (m *qbbrModel) noiseLoss() float64 { return min(m.loss.baseline, qbbrMaxNoiseLoss) }

// compensation is the factor by which sending must exceed delivery for the
// delivered rate to match the estimate despite noise loss.
func (m *qbbrModel) compensation() float64 { return 1 / (1 - m.noiseLoss()) }

// sendRate is the rate the path accepts: delivery compensated for noise.
func (m *qbbrModel) sendRate() float64 { return m.bandwidth() * m.compensation() }

// bdp is gain × sendRate × min RTT in bytes; before an RTT sample it is the
// initial window.
func (m *qbbrModel) bdp(gain float64) int {
	if m.minRTT == 0 || m.bandwidth() == 0 {
		return m.cfg.InitialWindow * m.cfg.MSS
	}
	return int(math.Ceil(m.sendRate() * m.minRTT.Seconds() * gain))
}

// queueDelay is the recent queueing delay, smoothed over a few ACKs.
func (m *qbbrModel) queueDelay() time.Duration {
	return time.Duration(m.loss.qFast * float64(time.Second))
}

// update feeds one ACK event into the model and returns the bytes of its
// loss classified as congestion.
func (m *qbbrModel) update(now time.Time, e *CongestionEvent, rs *RateSample) int {
	if e.RTT.Smoothed > 0 {
		m.srtt = e.RTT.Smoothed
	}
	m.round.update(rs, m.sampler.Delivered())
	if m.round.start {
		m.closeRound(now)
	}
	m.updateMinRTT(now, e)
	if rs.Valid {
		sample := rs.Rate() * m.lowerConfidence(rs)
		// App-limited samples only count when they show more than we know.
		if !rs.IsAppLimited || sample >= m.bw.Get() {
			m.bw.Update(m.round.count, sample)
		}
	}
	return m.loss.classify(rs, m.minRTT)
}

// closeRound records the round that just ended.
func (m *qbbrModel) closeRound(now time.Time) {
	delivered := m.sampler.Delivered()
	if !m.roundOpenTime.IsZero() {
		if d := now.Sub(m.roundOpenTime); d > 0 {
			m.lastRoundRate = float64(delivered-m.roundOpenDelivered) / d.Seconds()
		}
	}
	m.lastRoundQMin, m.lastRoundQValid = m.loss.cur.qMin, m.loss.cur.qN >= 8
	m.roundOpenDelivered, m.roundOpenTime = delivered, now
	m.loss.endRound()
}

// updateMinRTT keeps min RTT and feeds queueing delay to the classifier.
// Unlike BBR's 10-second windowed min, a sample close to min RTT refreshes
// its timestamp: it proves the queue was empty, so there is nothing for
// ProbeRTT to learn.
func (m *qbbrModel) updateMinRTT(now time.Time, e *CongestionEvent) {
	m.nearMinRTT = false
	rtt := e.RTT.Latest
	if rtt <= 0 {
		return
	}
	m.latestRTT = rtt
	if m.minRTT == 0 || rtt < m.minRTT {
		m.minRTT = rtt
		m.minRTTStamp = now
	}
	if rtt <= m.minRTT+time.Duration(float64(m.minRTT)*qbbrMinRTTTolerance) {
		m.nearMinRTT = true
		if !m.cfg.StrictProbeRTT {
			m.minRTTStamp = now
		}
	}
	// The peer's ACK delay is not queueing: take it out when that does not
	// go below the min.
	q := rtt - m.minRTT
	if adj := rtt - e.AckDelay; e.AckDelay > 0 && adj >= m.minRTT {
		q = adj - m.minRTT
	}
	m.loss.onRTT(q)
}

// lowerConfidence is the factor that takes qbbrLCBSigma binomial standard
// errors of the noise loss off a delivery-rate sample over rs's flight.
func (m *qbbrModel) lowerConfidence(rs *RateSample) float64 {
	p := m.noiseLoss()
	if p <= 0 {
		return 1
	}
	n := float64(rs.Delivered+rs.Lost) / float64(m.cfg.MSS)
	f := 1 - qbbrLCBSigma*math.Sqrt(p/((1-p)*max(n, 1)))
	return max(f, 0.5)
}

// minRTTExpired reports whether ProbeRTT is due.
func (m *qbbrModel) minRTTExpired(now time.Time) bool {
	return !m.minRTTStamp.IsZero() && now.Sub(m.minRTTStamp) > m.probeRTTInterval
}

// sendQuantum is about a millisecond of data at rate, between two packets
// and 64 KiB: the burst the pacer may send and the window must allow for.
func (m *qbbrModel) sendQuantum(rate float64) int {
	return min(max(int(rate/1000), 2*m.cfg.MSS), 64<<10)
}
