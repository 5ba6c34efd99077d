package sfu

import (
	"slices"
	"testing"
	"time"
)

// TestNewTrackStartsOnArrivingLayer: a new track whose large layer has not
// come yet (a browser that just started publishing adds it as its
// bandwidth estimate grows; a trunk-fed mirror gets only the layers its
// origin has) while the small one arrives. Its subscribers start on the
// small layer at once, instead of waiting the layer grace (3 s without
// video: the rendered gap across a move in Chromium, docs/survival.md
// round 5) for the large one; the large layer stays wanted upstream, and
// they switch up when it arrives. A layer that arrived before and was
// paused keeps its grace when resumed (TestDynacastResumesWhenPreferred).
func TestNewTrackStartsOnArrivingLayer(t *testing.T) {
	for _, remote := range []bool{true, false} {
		sim := newRoomSim(t, 1)
		sim.r.owner.remote = remote
		sim.run(600*time.Millisecond, 5e6, false, 0)
		if got := sim.decisions(); !slices.Equal(got, []int{0}) {
			t.Fatalf("remote=%v: decisions %v with only the small layer arriving, want [0] at once", remote, got)
		}
		if w := sim.lastWanted(); w != nil && !w[1] {
			t.Fatalf("remote=%v: dynacast %v stopped asking for the large layer the subscriber prefers", remote, w)
		}
		sim.run(time.Second, 5e6, false, 0, 1) // it comes
		if got := sim.decisions(); !slices.Equal(got, []int{1}) {
			t.Fatalf("remote=%v: decisions %v once the large layer arrives, want [1]", remote, got)
		}
	}
}
