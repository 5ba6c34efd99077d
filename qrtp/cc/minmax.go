package cc

// WindowedFilter tracks the best (largest or smallest) value seen over a
// sliding window, using Kathleen Nichols' algorithm as Linux lib/win_minmax.c
// does: it keeps the best, second-best and third-best samples, each from a
// later part of the window, so that when the best one ages out the next best
// of the remaining window is already at hand. Updates are O(1) and the
// memory is three samples.
//
// Time is an abstract int64: BBR windows its bandwidth filter in
// packet-timed rounds and its RTT filter in nanoseconds. Times passed to
// Update must not decrease.
type WindowedFilter struct {
	window  int64
	wantMax bool
	s       [3]filterSample
	filled  bool
}

type filterSample struct {
	t int64
	v float64
}

// NewMaxFilter returns a filter that reports the largest value seen within
// the last window time units.
func NewMaxFilter(window int64) *WindowedFilter {
	return &WindowedFilter{window: window, wantMax: true}
}

// NewMinFilter returns a filter that reports the smallest value seen within
// the last window time units.
func NewMinFilter(window int64) *WindowedFilter {
	return &WindowedFilter{window: window}
}

// better reports whether a is at least as good as b for this filter.
func (f *WindowedFilter) better(a, b float64) bool {
	if f.wantMax {
		return a >= b
	}
	return a <= b
}

// Get returns the current best value, 0 before the first sample.
func (f *WindowedFilter) Get() float64 {
	if !f.filled {
		return 0
	}
	return f.s[0].v
}

// Empty reports whether the filter has not seen a sample since creation.
func (f *WindowedFilter) Empty() bool { return !f.filled }

// Reset forgets everything and makes (t, v) the only sample.
func (f *WindowedFilter) Reset(t int64, v float64) {
	s := filterSample{t: t, v: v}
	f.s = [3]filterSample{s, s, s}
	f.filled = true
}

// SetWindow changes the window length; it applies from the next Update.
func (f *WindowedFilter) SetWindow(window int64) { f.window = window }

// Update adds the sample v taken at time t and returns the filter's value.
func (f *WindowedFilter) Update(t int64, v float64) float64 {
	s := filterSample{t: t, v: v}
	// A new best, or a window in which every kept sample has expired,
	// restarts the filter from this sample alone.
	if !f.filled || f.better(v, f.s[0].v) || t-f.s[2].t > f.window {
		f.Reset(t, v)
		return v
	}
	switch {
	case f.better(v, f.s[1].v):
		f.s[1], f.s[2] = s, s
	case f.better(v, f.s[2].v):
		f.s[2] = s
	}
	return f.ageOut(s)
}

// ageOut promotes the later choices when the best has left the window, and
// makes sure the second and third choices come from later quarters of it so
// that they are useful when promoted.
func (f *WindowedFilter) ageOut(s filterSample) float64 {
	dt := s.t - f.s[0].t
	switch {
	case dt > f.window:
		// The best expired: shift the choices down. The second may have
		// expired as well (the third cannot: Update checked it).
		f.s[0], f.s[1], f.s[2] = f.s[1], f.s[2], s
		if s.t-f.s[0].t > f.window {
			f.s[0], f.s[1], f.s[2] = f.s[1], f.s[2], s
		}
	case f.s[1].t == f.s[0].t && dt > f.window/4:
		// A quarter of the window passed with no second choice: take one
		// from the second quarter.
		f.s[1], f.s[2] = s, s
	case f.s[2].t == f.s[1].t && dt > f.window/2:
		// Half the window passed with no third choice: take one from the
		// second half.
		f.s[2] = s
	}
	return f.s[0].v
}
