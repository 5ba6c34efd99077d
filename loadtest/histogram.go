package loadtest

import "time"

// histogram counts durations in fixed buckets, so memory stays bounded
// however long a run is: 0.1 ms buckets below 10 ms, 1 ms below 1 s, 10 ms
// below 10 s, and one overflow bucket. Percentiles are exact to the bucket.
type histogram struct {
	counts [100 + 990 + 900 + 1]uint32
	n      uint64
	max    time.Duration
}

func bucketOf(d time.Duration) int {
	switch {
	case d < 0:
		return 0
	case d < 10*time.Millisecond:
		return int(d / (100 * time.Microsecond))
	case d < time.Second:
		return 100 + int((d-10*time.Millisecond)/time.Millisecond)
	case d < 10*time.Second:
		return 1090 + int((d-time.Second)/(10*time.Millisecond))
	default:
		return 1990
	}
}

// upperOf is the upper bound of a bucket: a percentile reads as "at most".
func upperOf(i int) time.Duration {
	switch {
	case i < 100:
		return time.Duration(i+1) * 100 * time.Microsecond
	case i < 1090:
		return 10*time.Millisecond + time.Duration(i-100+1)*time.Millisecond
	case i < 1990:
		return time.Second + time.Duration(i-1090+1)*10*time.Millisecond
	default:
		return 10 * time.Second
	}
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the q-quantile (0 < q ≤ 1), or 0 with no samples. The
// overflow bucket reports the largest sample seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			if i == len(h.counts)-1 || upperOf(i) > h.max {
				return h.max
			}
			return upperOf(i)
		}
	}
	return h.max
}
