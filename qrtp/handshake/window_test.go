package handshake

import (
	mrand "math/rand/v2"
	"testing"
)

func TestReplayWindowEdges(t *testing.T) {
	var w ReplayWindow
	if w.Seen(0) || w.Seen(5) {
		t.Fatal("an empty window has seen something")
	}
	w.Mark(0)
	if !w.Seen(0) || w.Seen(1) {
		t.Fatal("packet 0")
	}
	// Reordering within the window.
	for _, pn := range []uint64{10, 3, 7, 9} {
		if w.Seen(pn) {
			t.Fatalf("%d seen before it was marked", pn)
		}
		w.Mark(pn)
		if !w.Seen(pn) {
			t.Fatalf("duplicate %d not detected", pn)
		}
	}
	for _, pn := range []uint64{1, 2, 4, 5, 6, 8} {
		if w.Seen(pn) {
			t.Fatalf("gap %d reads as seen", pn)
		}
	}

	// Exactly ReplayWindowSize behind the top is still tracked; one more
	// is too old.
	w = ReplayWindow{}
	top := uint64(100_000)
	w.Mark(top)
	if w.Seen(top - ReplayWindowSize + 1) {
		t.Fatal("oldest in-window number reads as seen")
	}
	w.Mark(top - ReplayWindowSize + 1)
	if !w.Seen(top - ReplayWindowSize + 1) {
		t.Fatal("oldest in-window number not remembered")
	}
	if !w.Seen(top - ReplayWindowSize) {
		t.Fatal("a number older than the window is accepted")
	}
	w.Mark(top - ReplayWindowSize) // no-op, must not disturb anything
	if w.Seen(top - 1) {
		t.Fatal("marking an old number set a bit for a new one")
	}

	// A far jump clears everything behind it.
	w.Mark(top + 10*ReplayWindowSize)
	if !w.Seen(top) || w.Seen(top+10*ReplayWindowSize-1) {
		t.Fatal("far jump: stale bits survived or old numbers accepted")
	}
	// A jump of less than the window keeps what is still inside.
	w.Mark(top + 10*ReplayWindowSize + 100)
	if !w.Seen(top+10*ReplayWindowSize) || w.Seen(top+10*ReplayWindowSize+50) {
		t.Fatal("short jump lost or invented bits")
	}

	var edge ReplayWindow
	edge.Mark(^uint64(0))
	if !edge.Seen(^uint64(0)) || edge.Seen(0) {
		t.Fatal("the number 2^64-1 must read as seen and not disturb the window")
	}
}

// TestReplayWindowMatchesModel compares the bitmap with a map under random
// reordering, duplication and jumps.
func TestReplayWindowMatchesModel(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	var w ReplayWindow
	marked := map[uint64]bool{}
	var top uint64
	for range 200_000 {
		var pn uint64
		switch r := rng.IntN(100); {
		case r < 70: // near the top, often behind it
			pn = top + 8 - min(top+8, uint64(rng.IntN(64)))
		case r < 90: // around the window's edge
			pn = top - min(top, uint64(ReplayWindowSize-8+rng.IntN(16)))
		case r < 99: // a duplicate of something recent
			pn = top - min(top, uint64(rng.IntN(256)))
		default: // a jump ahead
			pn = top + uint64(rng.IntN(3*ReplayWindowSize))
		}
		want := marked[pn] || (top >= ReplayWindowSize && pn <= top-ReplayWindowSize && len(marked) > 0)
		if got := w.Seen(pn); got != want {
			t.Fatalf("Seen(%d) = %v, model says %v (top %d)", pn, got, want, top)
		}
		if !want {
			w.Mark(pn)
			marked[pn] = true
			top = max(top, pn)
		}
	}
}
