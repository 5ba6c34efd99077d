package sfu

import "time"

// Send-side bandwidth estimation for subscribers that send transport-cc
// feedback: the core, pure logic with time passed in (twcc.go drives it).
//
// It replaces pion's GCC, whose per-packet bookkeeping (a list element, a
// map entry and a lock per packet sent, acknowledgements through channels
// to two goroutines) cost the node more than the rest of its forwarding
// path. Here a packet sent costs one store into a ring (twcc.go), and all
// the work is done once per feedback report, over the packets it covers.
//
// The delay signal is the standing queue: each acknowledged packet's
// one-way delay (arrival, by the receiver's clock, minus send, by ours)
// above the smallest seen in the last bweBaseWindow. A feedback report
// counts towards overuse when even its least delayed packet waited more
// than bweQueueThreshold, and longer than the previous report's least
// delayed packet; such reports in a row spanning bweOverusePersist of
// sending are overuse. CPU scheduling
// jitter (a busy receiver or node stamping some packets late) raises
// single packets, not the least delayed packet of a report: a queue at a
// bottleneck delays them all. And a receiver starved for longer than a
// report stamps a backlog at the moment it runs again, which makes the
// queue look shorter for every later packet; a queue at a bottleneck
// that the sender overruns grows from one report to the next. On overuse the estimate falls to
// bweBeta × the rate the receiver got; on loss above bweLossHigh it falls
// by half the loss; below bweLossLow and without overuse it grows by
// bweGrowth a second while it is under 1.5 × the received rate (it is
// never cut to that rate: an SFU sends what its layers cost, which says
// nothing about the link).
//
// A stall of the node's own process is a different matter: it delays
// every packet of every subscriber at once, for longer than a report, and
// the queue looks real. The driver tells the core when a local stall
// ended (stallWatch, stall.go); a report with packets sent before
// bweStallHold after it "holds": its delay says nothing, the overuse run
// restarts, and the estimate neither falls nor grows on it. Its loss still
// counts. A real bottleneck is still found: the node's own uplink, shared
// by all its subscribers, fills without stalling the process (so no hold),
// and a queue that is there while the process also stalls overflows
// (loss, which counts) or is still there bweStallHold after the stall
// (delay, which counts again).
const (
	bweQueueThreshold = 25 * time.Millisecond
	bweOverusePersist = 300 * time.Millisecond
	bweBaseWindow     = 10 * time.Second
	bweBeta           = 0.85
	bweDecreaseGap    = 300 * time.Millisecond // between two decreases
	bweLossHigh       = 0.10
	bweLossLow        = 0.02
	bweGrowth         = 0.08 // per second
	bweRateWindow     = 500 * time.Millisecond
	// bweLossGain is the weight of a report's loss in the running figure.
	bweLossGain = 0.3
	// bweStallHold: how long after a local stall ended the delay of the
	// packets sent says nothing (the backlog drains, feedback for it
	// arrives).
	bweStallHold = time.Second
)

// ackedPacket is one packet a feedback report covers.
type ackedPacket struct {
	sent    time.Duration // by the sender's clock
	arrived time.Duration // by the receiver's clock; meaningless when lost
	size    int           // bytes on the wire (RTP header and payload)
	lost    bool
}

// bweCore is one subscriber connection's estimate. Not safe for
// concurrent use: its driver serialises calls.
type bweCore struct {
	min, max int

	estimate     int
	loss         float64    // running loss fraction
	recentLoss   [2]float64 // the last two reports' loss, for evidence
	overuse      bool
	overReports  int           // consecutive reports above the queue threshold and rising
	lastQueue    time.Duration // the previous report's standing queue
	overStart    time.Duration // the first packet sent of that run of reports
	lastDecrease time.Duration
	decreased    bool
	lastUpdate   time.Duration
	updated      bool
	stallEnd     time.Duration // the latest local stall's end (stalled)
	stallSeen    bool

	// base is the smallest one-way delay of each of the last
	// len(base) seconds (windowed minimum); baseSec tags each slot with
	// its second + 1 (0: empty).
	base    [int(bweBaseWindow / time.Second)]time.Duration
	baseSec [int(bweBaseWindow / time.Second)]int64
	// rate: bytes acknowledged per report, with the reports' arrival span.
	rate  [16]rateSample
	rateN int
}

type rateSample struct {
	first, last time.Duration // arrival times
	bytes       int
}

func newBWECore(initial, minRate, maxRate int) *bweCore {
	return &bweCore{min: minRate, max: maxRate, estimate: clampInt(initial, minRate, maxRate)}
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

// target is the estimate, bits/s.
func (b *bweCore) target() int { return b.estimate }

// evidence reports whether the delay detector sees overuse now, and the
// loss of the last two reports (bweEvidence). Not the running figure: the
// congestion judge asks whether loss is still there half a second after a
// decrease, and the running figure still remembers a burst by then.
func (b *bweCore) evidence() (overuse bool, loss float64) {
	return b.overuse, max(b.recentLoss[0], b.recentLoss[1])
}

// stalled records that a local stall of the node's process ended at end
// (the sender's clock).
func (b *bweCore) stalled(end time.Duration) {
	if !b.stallSeen || end > b.stallEnd {
		b.stallEnd, b.stallSeen = end, true
	}
}

// feedback takes one report's packets, in sequence order, at now (the
// sender's clock).
func (b *bweCore) feedback(now time.Duration, pkts []ackedPacket) {
	var lost, total, bytes int
	var first, last, firstSent, lastSent time.Duration
	minQueue, haveQueue := time.Duration(0), false
	for i := range pkts {
		p := &pkts[i]
		total++
		if p.lost {
			lost++
			continue
		}
		owd := p.arrived - p.sent
		base := b.observeBase(p.sent, owd)
		if q := owd - base; !haveQueue || q < minQueue {
			minQueue = q
		}
		if !haveQueue || p.sent < firstSent {
			firstSent = p.sent
		}
		lastSent, haveQueue = max(lastSent, p.sent), true
		bytes += p.size
		if bytes == p.size || p.arrived < first {
			first = p.arrived
		}
		last = max(last, p.arrived)
	}
	if total == 0 {
		return
	}
	if bytes > 0 {
		b.rate[b.rateN%len(b.rate)] = rateSample{first: first, last: last, bytes: bytes}
		b.rateN++
	}
	frac := float64(lost) / float64(total)
	b.loss += bweLossGain * (frac - b.loss)
	b.recentLoss[0], b.recentLoss[1] = b.recentLoss[1], frac
	held := haveQueue && b.stallSeen && firstSent <= b.stallEnd+bweStallHold
	switch {
	case held:
		b.overReports, b.overuse, b.lastQueue = 0, false, minQueue
	case haveQueue:
		if minQueue > bweQueueThreshold && minQueue > b.lastQueue {
			if b.overReports == 0 {
				b.overStart = firstSent
			}
			b.overReports++
		} else {
			b.overReports = 0
		}
		b.lastQueue = minQueue
		b.overuse = b.overReports >= 2 && lastSent-b.overStart >= bweOverusePersist
	}
	b.control(now, held)
}

// observeBase records a one-way delay and returns the smallest in the
// base window, this one included.
func (b *bweCore) observeBase(at, owd time.Duration) time.Duration {
	tag := int64(at/time.Second) + 1 // 0 marks an empty slot
	i := int(tag % int64(len(b.base)))
	if b.baseSec[i] != tag || owd < b.base[i] {
		b.base[i], b.baseSec[i] = owd, tag
	}
	m := owd
	for j := range b.base {
		if b.baseSec[j] != 0 && tag-b.baseSec[j] < int64(len(b.base)) && b.base[j] < m {
			m = b.base[j]
		}
	}
	return m
}

// received is the rate the receiver got over the last reports spanning at
// least bweRateWindow of arrivals, bits/s; 0 while unknown.
func (b *bweCore) received() int {
	n := min(b.rateN, len(b.rate))
	if n == 0 {
		return 0
	}
	newest := b.rate[(b.rateN-1)%len(b.rate)]
	bytes, first := 0, newest.first
	for k := 0; k < n; k++ {
		s := b.rate[(b.rateN-1-k)%len(b.rate)]
		bytes += s.bytes
		first = min(first, s.first)
		if newest.last-first >= bweRateWindow {
			break
		}
	}
	span := newest.last - first
	if span < bweRateWindow/4 {
		return 0
	}
	return int(float64(bytes*8) / span.Seconds())
}

// control moves the estimate after a report; a held report (see stalled)
// may only lower it for loss.
func (b *bweCore) control(now time.Duration, held bool) {
	dt := time.Second
	if b.updated {
		dt = min(now-b.lastUpdate, time.Second)
	}
	b.lastUpdate, b.updated = now, true
	canDecrease := !b.decreased || now-b.lastDecrease >= bweDecreaseGap
	recv := b.received()
	switch {
	case b.overuse:
		if canDecrease {
			next := int(bweBeta * float64(b.estimate))
			if recv > 0 {
				next = int(bweBeta * float64(recv))
			}
			b.estimate = clampInt(min(next, b.estimate), b.min, b.max)
			b.lastDecrease, b.decreased = now, true
		}
	case b.loss > bweLossHigh:
		if canDecrease {
			b.estimate = clampInt(int(float64(b.estimate)*(1-0.5*b.loss)), b.min, b.max)
			b.lastDecrease, b.decreased = now, true
		}
	case b.loss < bweLossLow && dt > 0 && !held:
		limit := int(1.5 * float64(recv))
		if recv > 0 && b.estimate < limit {
			grown := int(float64(b.estimate) * (1 + bweGrowth*dt.Seconds()))
			b.estimate = clampInt(min(grown, limit), b.min, b.max)
		}
	}
}
