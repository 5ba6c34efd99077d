package qrtp

import (
	"math/rand/v2"
	"testing"
)

// TestRangeSetAgainstModel drives random adds and removes against a plain
// boolean model.
func TestRangeSetAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	const n = 300
	for round := 0; round < 200; round++ {
		var r rangeSet
		model := make([]bool, n)
		for op := 0; op < 60; op++ {
			a := uint64(rng.IntN(n))
			b := min(a+uint64(rng.IntN(20)), n)
			switch rng.IntN(4) {
			case 0, 1:
				var want uint64
				for x := a; x < b; x++ {
					if !model[x] {
						want++
					}
					model[x] = true
				}
				if got := r.add(a, b); got != want {
					t.Fatalf("add(%d,%d) = %d new, want %d", a, b, got, want)
				}
			case 2:
				r.remove(a, b)
				for x := a; x < b; x++ {
					model[x] = false
				}
			case 3:
				r.removeBelow(a)
				for x := uint64(0); x < a; x++ {
					model[x] = false
				}
			}
			checkRangeSet(t, &r, model)
		}
	}
}

func checkRangeSet(t *testing.T, r *rangeSet, model []bool) {
	t.Helper()
	for i := 1; i < len(r.s); i++ {
		if r.s[i-1].end >= r.s[i].start || r.s[i].start >= r.s[i].end {
			t.Fatalf("not canonical: %v", r.s)
		}
	}
	for x := range model {
		if r.contains(uint64(x)) != model[x] {
			t.Fatalf("contains(%d) = %v, want %v (%v)", x, !model[x], model[x], r.s)
		}
	}
	// gaps and covers agree with the model over a few windows.
	for a := 0; a < len(model); a += 37 {
		b := min(a+50, len(model))
		covered := make([]bool, b-a)
		for x := a; x < b; x++ {
			covered[x-a] = model[x]
		}
		r.gaps(uint64(a), uint64(b), func(s, e uint64) {
			for x := s; x < e; x++ {
				if covered[x-uint64(a)] {
					t.Fatalf("gap includes %d", x)
				}
				covered[x-uint64(a)] = true
			}
		})
		all := true
		for x := a; x < b; x++ {
			if !model[x] {
				all = false
			}
			if !covered[x-a] {
				t.Fatalf("gaps missed %d in [%d,%d): %v", x, a, b, r.s)
			}
		}
		if r.covers(uint64(a), uint64(b)) != all {
			t.Fatalf("covers(%d,%d) wrong", a, b)
		}
		if got, _ := r.coversFrom(0, uint64(a), uint64(b)); got != all {
			t.Fatalf("coversFrom(%d,%d) wrong", a, b)
		}
		g, ok := r.firstGap(uint64(a), uint64(b))
		var want span
		found := false
		for x := a; x < b; x++ {
			if !model[x] {
				if !found {
					want.start, found = uint64(x), true
				}
				want.end = uint64(x + 1)
			} else if found {
				break
			}
		}
		if ok != found || (found && g != want) {
			t.Fatalf("firstGap(%d,%d) = %v,%v want %v,%v (%v)", a, b, g, ok, want, found, r.s)
		}
	}
}

func TestCoversFromCursor(t *testing.T) {
	var r rangeSet
	for i := uint64(0); i < 100; i++ {
		r.add(4*i, 4*i+2) // [0,2) [4,6) ...
	}
	k := 0
	for i := uint64(0); i < 100; i++ {
		var ok bool
		if ok, k = r.coversFrom(k, 4*i, 4*i+2); !ok {
			t.Fatalf("span %d not covered", i)
		}
		if ok, k = r.coversFrom(k, 4*i+1, 4*i+3); ok {
			t.Fatalf("[%d,%d) reported covered", 4*i+1, 4*i+3)
		}
	}
}
