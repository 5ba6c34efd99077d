package sfu

import (
	"testing"
	"time"
)

// TestCongestionJudge: a decrease of the estimate is congestion only with
// evidence: loss, or overuse that persists after the decrease. A CPU
// hiccup (one decrease, the detector back to normal, nothing lost) is not.
func TestCongestionJudge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tick := 200 * time.Millisecond
	type step struct {
		estimate int
		overuse  bool
		loss     float64
	}
	run := func(steps []step) []bool {
		var j congestionJudge
		var out []bool
		for i, s := range steps {
			out = append(out, j.observe(t0.Add(time.Duration(i)*tick), s.estimate, func() (bool, float64) { return s.overuse, s.loss }))
		}
		return out
	}
	last := func(v []bool) bool { return v[len(v)-1] }
	any := func(v []bool) bool {
		for _, b := range v {
			if b {
				return true
			}
		}
		return false
	}

	// Jitter: one decrease with overuse at that moment only, then normal.
	jitter := []step{{2e6, false, 0}, {2e6, false, 0}, {1.5e6, true, 0}}
	for range 15 {
		jitter = append(jitter, step{1.55e6, false, 0})
	}
	if v := run(jitter); any(v) {
		t.Errorf("a CPU hiccup was judged congestion: %v", v)
	}
	// A queue building: overuse persists after the decrease.
	queue := []step{{2e6, false, 0}, {1.5e6, true, 0}, {1.5e6, true, 0}, {1.4e6, true, 0}, {1.4e6, true, 0}}
	if v := run(queue); !last(v) {
		t.Errorf("persistent overuse after a decrease was not judged congestion: %v", v)
	}
	// A queue overflowing: loss that persists.
	if v := run([]step{{2e6, false, 0}, {1.6e6, false, 0.05}, {1.6e6, false, 0.05}, {1.6e6, false, 0.05}, {1.6e6, false, 0.05}}); !last(v) {
		t.Errorf("a decrease with persistent 5%% loss was not judged congestion: %v", v)
	}
	// A stall: one burst of loss, decayed half a second later.
	if v := run([]step{{2e6, false, 0}, {1.6e6, true, 0.1}, {1.6e6, false, 0.03}, {1.6e6, false, 0.01}, {1.6e6, false, 0}, {1.7e6, false, 0}}); any(v) {
		t.Errorf("one burst of loss was judged congestion: %v", v)
	}
	// Congestion is remembered for congestionMemory, then forgotten.
	steps := []step{{2e6, false, 0}, {1.6e6, false, 0.05}, {1.6e6, false, 0.05}, {1.6e6, false, 0.05}, {1.6e6, false, 0.05}}
	for range int(congestionMemory/tick) + 1 {
		steps = append(steps, step{1.6e6, false, 0})
	}
	v := run(steps)
	if !v[len(v)-3] || last(v) {
		t.Errorf("congestion memory: %v", v)
	}
	// Overuse without a decrease (the estimate rising) is not congestion.
	if v := run([]step{{1e6, true, 0}, {1.1e6, true, 0}, {1.2e6, true, 0}, {1.3e6, true, 0}}); any(v) {
		t.Errorf("overuse without a decrease was judged congestion: %v", v)
	}
}
