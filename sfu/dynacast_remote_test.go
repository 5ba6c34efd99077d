package sfu

import (
	"slices"
	"testing"
	"time"
)

// TestRemoteTrackStartsOnArrivingLayer: a trunk-fed track just mirrored
// on this node (a participant's new node, or subscribers who moved here)
// whose large layer its origin does not have (its publisher paused or
// dropped it) gets only the small layer over the trunk. Its subscribers
// start on the small layer at once, instead of waiting the layer grace
// (3 s without video: the rendered gap of subscribers who moved in
// Chromium, docs/survival.md round 5) for a large layer that is not
// coming; the large layer stays wanted upstream, and they switch up when
// it arrives. A local publisher's layers keep the grace (a browser starts
// them all).
func TestRemoteTrackStartsOnArrivingLayer(t *testing.T) {
	sim := newRoomSim(t, 1)
	sim.r.owner.remote = true
	sim.run(600*time.Millisecond, 5e6, false, 0)
	if got := sim.decisions(); !slices.Equal(got, []int{0}) {
		t.Fatalf("decisions %v with only the small layer arriving on the trunk, want [0] at once", got)
	}
	if w := sim.lastWanted(); w != nil && !w[1] {
		t.Fatalf("dynacast %v stopped asking the origin for the large layer the subscriber prefers", w)
	}
	sim.run(time.Second, 5e6, false, 0, 1) // the origin sends it
	if got := sim.decisions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("decisions %v once the large layer arrives, want [1]", got)
	}

	local := newRoomSim(t, 1)
	local.run(600*time.Millisecond, 5e6, false, 0)
	if got := local.decisions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("local publisher: decisions %v within the layer grace, want [1] (its large layer is trusted to start)", got)
	}
}
