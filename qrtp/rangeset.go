package qrtp

import "sort"

// span is the half-open interval [start, end).
type span struct{ start, end uint64 }

// rangeSet is a set of uint64 kept as sorted, disjoint, non-adjacent spans.
// It tracks received packet numbers, acknowledged packet numbers, received
// and acknowledged stream bytes, and stream sequence numbers. Insertions
// near the top (the common case: new packets, new data) touch only the last
// spans, so the usual cost is O(log n) with a short memmove.
type rangeSet struct{ s []span }

func (r *rangeSet) len() int      { return len(r.s) }
func (r *rangeSet) empty() bool   { return len(r.s) == 0 }
func (r *rangeSet) reset()        { r.s = r.s[:0] }
func (r *rangeSet) at(i int) span { return r.s[i] }

// first returns the lowest span.
func (r *rangeSet) first() (span, bool) {
	if len(r.s) == 0 {
		return span{}, false
	}
	return r.s[0], true
}

// search returns the index of the first span whose end is >= x, which is
// the only span that can contain or touch x from below.
func (r *rangeSet) search(x uint64) int {
	if n := len(r.s); n > 0 && r.s[n-1].end < x {
		return n // fast path: x is above everything
	}
	return sort.Search(len(r.s), func(i int) bool { return r.s[i].end >= x })
}

// contains reports whether x is in the set.
func (r *rangeSet) contains(x uint64) bool {
	i := r.search(x + 1)
	return i < len(r.s) && r.s[i].start <= x
}

// covers reports whether all of [start, end) is in the set.
func (r *rangeSet) covers(start, end uint64) bool {
	if start >= end {
		return true
	}
	i := r.search(start + 1)
	return i < len(r.s) && r.s[i].start <= start && r.s[i].end >= end
}

// coversFrom is covers for callers that ask about increasing intervals: k
// is a cursor into the spans (start with 0, pass back what it returns),
// which only moves forward, so a sorted batch of queries costs O(queries +
// spans crossed) instead of a binary search each.
func (r *rangeSet) coversFrom(k int, start, end uint64) (bool, int) {
	if k == 0 && len(r.s) > 0 && r.s[0].end <= start {
		k = r.search(start + 1) // jump to the first candidate once
	}
	for k < len(r.s) && r.s[k].end <= start {
		k++
	}
	return k < len(r.s) && r.s[k].start <= start && r.s[k].end >= end, k
}

// add inserts [start, end) and reports how many of its values were new.
func (r *rangeSet) add(start, end uint64) uint64 {
	if start >= end {
		return 0
	}
	i := r.search(start) // first span with end >= start: may merge from here
	j := i
	added := end - start
	lo, hi := start, end
	for j < len(r.s) && r.s[j].start <= end {
		s := r.s[j]
		added -= overlap(s, start, end)
		lo, hi = min(lo, s.start), max(hi, s.end)
		j++
	}
	switch {
	case j == i: // no span touched: insert
		r.s = append(r.s, span{})
		copy(r.s[i+1:], r.s[i:])
		r.s[i] = span{lo, hi}
	case j == i+1: // one span grows (or already covered it): nothing moves
		r.s[i] = span{lo, hi}
	default: // spans i..j-1 merge into one
		r.s[i] = span{lo, hi}
		r.s = append(r.s[:i+1], r.s[j:]...)
	}
	return added
}

func overlap(s span, start, end uint64) uint64 {
	lo, hi := max(s.start, start), min(s.end, end)
	if lo >= hi {
		return 0
	}
	return hi - lo
}

// remove deletes [start, end) from the set.
func (r *rangeSet) remove(start, end uint64) {
	if start >= end {
		return
	}
	i := r.search(start + 1) // first span that may overlap
	for i < len(r.s) && r.s[i].start < end {
		s := r.s[i]
		switch {
		case s.start >= start && s.end <= end: // swallowed
			r.s = append(r.s[:i], r.s[i+1:]...)
		case s.start < start && s.end > end: // split
			r.s = append(r.s, span{})
			copy(r.s[i+2:], r.s[i+1:])
			r.s[i] = span{s.start, start}
			r.s[i+1] = span{end, s.end}
			return
		case s.start < start: // trim the top
			r.s[i].end = start
			i++
		default: // trim the bottom
			r.s[i].start = end
			return
		}
	}
}

// removeBelow deletes every value below x. A large remainder is
// re-sliced rather than copied down, so trimming the front of a set with
// thousands of spans (the sender does it on every ACK at high loss) costs
// O(spans removed), and append reclaims the space when it reallocates; a
// small remainder is copied down so the set keeps its capacity and small,
// marching sets (stream offsets) never reallocate.
func (r *rangeSet) removeBelow(x uint64) {
	i := 0
	for i < len(r.s) && r.s[i].end <= x {
		i++
	}
	switch {
	case i == 0:
	case len(r.s)-i <= 64:
		r.s = append(r.s[:0], r.s[i:]...)
	default:
		r.s = r.s[i:]
	}
	if len(r.s) > 0 && r.s[0].start < x {
		r.s[0].start = x
	}
}

// gaps calls fn for each maximal sub-interval of [start, end) that is not
// in the set, lowest first.
func (r *rangeSet) gaps(start, end uint64, fn func(start, end uint64)) {
	if start >= end {
		return
	}
	i := r.search(start + 1)
	cur := start
	for ; i < len(r.s) && r.s[i].start < end; i++ {
		if r.s[i].start > cur {
			fn(cur, r.s[i].start)
		}
		cur = max(cur, r.s[i].end)
		if cur >= end {
			return
		}
	}
	if cur < end {
		fn(cur, end)
	}
}

// firstGap returns the lowest sub-interval of [start, end) not in the set.
func (r *rangeSet) firstGap(start, end uint64) (span, bool) {
	i := r.search(start + 1)
	cur := start
	for ; i < len(r.s) && r.s[i].start <= cur && cur < end; i++ {
		cur = max(cur, r.s[i].end)
	}
	if cur >= end {
		return span{}, false
	}
	hi := end
	if i < len(r.s) && r.s[i].start < end {
		hi = r.s[i].start
	}
	return span{cur, hi}, true
}
