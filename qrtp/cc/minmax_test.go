package cc

import (
	"math/rand/v2"
	"testing"
)

func TestMaxFilterTracksPeakUntilItExpires(t *testing.T) {
	f := NewMaxFilter(10)
	if !f.Empty() || f.Get() != 0 {
		t.Fatal("new filter not empty")
	}
	f.Update(0, 5)
	f.Update(1, 9) // new max replaces everything
	for r := int64(2); r <= 11; r++ {
		if got := f.Update(r, 4); got != 9 {
			t.Fatalf("round %d: got %v, want 9 while the peak is in the window", r, got)
		}
	}
	// Round 12 is more than 10 rounds after the peak at round 1.
	if got := f.Update(12, 4); got != 4 {
		t.Fatalf("after expiry got %v, want 4", got)
	}
}

func TestMinFilterPromotesSecondChoice(t *testing.T) {
	f := NewMinFilter(100)
	f.Update(0, 10)
	f.Update(30, 20) // second choice, taken after a quarter window
	f.Update(60, 30) // third choice, after half
	if got := f.Get(); got != 10 {
		t.Fatalf("got %v, want 10", got)
	}
	// At 101 the best (t=0) expires; the second choice (20 at t=30) takes over.
	if got := f.Update(101, 40); got != 20 {
		t.Fatalf("after expiry got %v, want 20", got)
	}
	if got := f.Update(131, 40); got != 30 {
		t.Fatalf("after second expiry got %v, want 30", got)
	}
}

func TestFilterReset(t *testing.T) {
	f := NewMaxFilter(10)
	f.Update(0, 100)
	f.Reset(3, 7)
	if got := f.Get(); got != 7 {
		t.Fatalf("after reset got %v", got)
	}
	if got := f.Update(4, 6); got != 7 {
		t.Fatalf("got %v, want 7", got)
	}
}

// TestMaxFilterAgainstBruteForce checks the filter's guarantees on random
// input: the value is a sample from inside the window (never above the true
// windowed max), and it is never below the max of the most recent quarter
// window, which is where Nichols' algorithm keeps its later choices.
func TestMaxFilterAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const window = 40
	for trial := 0; trial < 10; trial++ {
		f := NewMaxFilter(window)
		type sample struct {
			t int64
			v float64
		}
		var hist []sample
		now := int64(0)
		for i := 0; i < 2000; i++ {
			now += int64(rng.IntN(3))
			v := rng.Float64() * 100
			got := f.Update(now, v)
			hist = append(hist, sample{now, v})
			for len(hist) > 0 && now-hist[0].t > window {
				hist = hist[1:] // older than the window: never the answer
			}
			var fullMax, quarterMax float64
			for _, s := range hist {
				if now-s.t <= window {
					fullMax = max(fullMax, s.v)
				}
				if now-s.t <= window/4 {
					quarterMax = max(quarterMax, s.v)
				}
			}
			if got > fullMax {
				t.Fatalf("trial %d step %d: got %v above the window max %v", trial, i, got, fullMax)
			}
			if got < quarterMax {
				t.Fatalf("trial %d step %d: got %v below the recent max %v", trial, i, got, quarterMax)
			}
		}
	}
}
