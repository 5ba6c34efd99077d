package netsim

import (
	"math"
	"math/bits"
	"time"
)

// histSub is the number of linear sub-buckets per power of two: 32 keeps the
// relative bucket width near 3%, plenty for "median queueing delay" figures.
const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// DelayHistogram records durations in log-linear buckets (about 3% wide)
// so that a link can keep every queueing-delay sample of a long run in fixed
// memory. The zero value is empty and ready to use.
type DelayHistogram struct {
	Count uint64
	Sum   time.Duration
	Max   time.Duration
	// counts is allocated on the first sample so an idle link stays small.
	counts []uint64
}

// bucketOf maps a non-negative nanosecond count to its bucket.
func bucketOf(ns uint64) int {
	if ns < histSub {
		return int(ns)
	}
	exp := bits.Len64(ns) - histSubBits // ≥ 1
	return exp*histSub + int(ns>>(exp-1)) - histSub
}

// bucketLow is the smallest value that falls into bucket i.
func bucketLow(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	exp := i / histSub
	return uint64(i%histSub+histSub) << (exp - 1)
}

// Add records one sample; negative samples count as zero.
func (h *DelayHistogram) Add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	h.counts[bucketOf(uint64(d))]++
	h.Count++
	h.Sum += d
	if d > h.Max {
		h.Max = d
	}
}

// Mean is the average sample, 0 when empty.
func (h *DelayHistogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / time.Duration(h.Count)
}

// Quantile returns an estimate of the q-quantile (0 ≤ q ≤ 1): the lower
// edge of the bucket holding it, so it errs low by at most one bucket width.
func (h *DelayHistogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	if q >= 1 {
		return h.Max
	}
	// The sample of rank ⌈q·n⌉ (1-based), as nearest-rank percentiles do.
	rank := uint64(math.Ceil(q * float64(h.Count)))
	if rank > 0 {
		rank--
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			return time.Duration(bucketLow(i))
		}
	}
	return h.Max
}

// Reset empties the histogram, keeping its memory.
func (h *DelayHistogram) Reset() {
	clear(h.counts)
	h.Count, h.Sum, h.Max = 0, 0, 0
}

// Clone returns a copy that shares no memory with h.
func (h *DelayHistogram) Clone() DelayHistogram {
	c := *h
	if h.counts != nil {
		c.counts = append([]uint64(nil), h.counts...)
	}
	return c
}
