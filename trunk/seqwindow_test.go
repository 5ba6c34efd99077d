package trunk

import "testing"

func TestSeqWindow(t *testing.T) {
	var w seqWindow
	steps := []struct {
		seq   uint16
		fresh bool
	}{
		{65530, true}, {65531, true}, {65530, false}, // duplicate
		{2, true},      // wraps
		{65533, true},  // late but new
		{65533, false}, // late duplicate
		{65531, false},
		{300, true},   // ahead by more than 64: the words shift
		{2, false},    // still inside 256
		{100, true},   // late, new
		{40000, true}, // far jump: a new stream
		{40000, false},
	}
	for i, s := range steps {
		if got := w.fresh(s.seq); got != s.fresh {
			t.Fatalf("step %d seq %d: fresh %v, want %v", i, s.seq, got, s.fresh)
		}
	}
}

func TestSeqWindowEveryShift(t *testing.T) {
	for gap := 1; gap < 300; gap++ {
		var w seqWindow
		w.fresh(1000)
		w.fresh(uint16(1000 + gap))
		// Seen (inside the window) or too old (outside it): never fresh.
		if w.fresh(1000) {
			t.Fatalf("gap %d: old packet judged fresh", gap)
		}
		if gap > 1 && gap < seqWindowSize && !w.fresh(uint16(1000+gap-1)) {
			t.Fatalf("gap %d: late new packet judged stale", gap)
		}
		if w.fresh(uint16(1000 + gap)) {
			t.Fatalf("gap %d: duplicate of the newest judged fresh", gap)
		}
	}
}
