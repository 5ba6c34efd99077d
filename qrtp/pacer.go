package qrtp

import "time"

// pacer is a token bucket refilled at the congestion controller's pacing
// rate. Its depth (the burst allowance) is a small multiple of the packet
// size or one burst interval of the rate, whichever is larger, so a driver
// that wakes a little late can catch up without flooding the bottleneck.
type pacer struct {
	tokens float64 // bytes that may leave now
	last   time.Time
	burst  time.Duration
	mss    int
}

func (p *pacer) depth(rate float64) float64 {
	return max(float64(4*p.mss), rate*p.burst.Seconds())
}

func (p *pacer) refill(now time.Time, rate float64) {
	if p.last.IsZero() {
		p.last = now
		p.tokens = p.depth(rate)
		return
	}
	if dt := now.Sub(p.last); dt > 0 {
		p.tokens = min(p.tokens+rate*dt.Seconds(), p.depth(rate))
		p.last = now
	}
}

// allows reports whether a packet of size bytes may leave at now. A rate of
// 0 means the controller does not pace.
func (p *pacer) allows(now time.Time, rate float64, size int) bool {
	if rate <= 0 {
		return true
	}
	p.refill(now, rate)
	return p.tokens >= float64(size)
}

// sent takes a packet's bytes from the bucket.
func (p *pacer) sent(size int, rate float64) {
	if rate > 0 {
		p.tokens -= float64(size)
	}
}

// next is when a packet of size bytes may leave, given the rate.
func (p *pacer) next(now time.Time, rate float64, size int) time.Time {
	if rate <= 0 {
		return now
	}
	p.refill(now, rate)
	missing := float64(size) - p.tokens
	if missing <= 0 {
		return now
	}
	d := time.Duration(missing / rate * float64(time.Second))
	return now.Add(max(d, time.Microsecond))
}
