package sim

import (
	"context"
	"fmt"
	"testing"
)

// TestPlacers: the same scenario placed by the default placer and by the
// network's scheduler: both keep a room's users of one region on one
// node, and both runs deliver the room's media.
func TestPlacers(t *testing.T) {
	for _, placer := range []string{"region", "scheduler"} {
		s := twoRegions(t, placer, "6s", 3, 6, "1s")
		var n *Network
		rep, err := Run(context.Background(), s, Options{Seed: 3, onNet: func(x *Network) { n = x }})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Users != 24 || rep.JoinErrors != 0 || rep.FramesSent == 0 || rep.FramesDelivered < rep.FramesSent*9/10 {
			t.Errorf("%s: %d users, %d not placed, %d of %d frames", placer, rep.Users, rep.JoinErrors, rep.FramesDelivered, rep.FramesSent)
		}
		for _, room := range []string{"m0001", "m0002", "m0003"} {
			per := map[string]int{}
			for _, nd := range n.Nodes() {
				if nd.local != nil && nd.local.rooms[room] != nil {
					per[nd.Spec.Region]++
				}
			}
			if per["eu"] != 1 || per["us"] != 1 {
				t.Errorf("%s: room %s on nodes per region %v, want one in each", placer, room, per)
			}
		}
	}
}

// TestPlacementStats: the report's placement line tells a cascading
// placer from one that keeps each room on one node: the latter puts half
// the users outside their region, a far path away.
func TestPlacementStats(t *testing.T) {
	want := map[string]func(*PlacementStats) bool{
		"region": func(p *PlacementStats) bool {
			return p.Placer == "region" && p.OffRegion == 0 && p.LastMileMaxMs == 0 && p.NodesPerRoom == 2
		},
		"single": func(p *PlacementStats) bool {
			return p.Placer == "scheduler:single" && p.OffRegion == 8 && p.LastMileP95Ms >= 40 && p.LastMileMaxMs <= 60 &&
				p.NodesPerRoom == 1 && p.MaxNodesPerRoom == 1
		},
	}
	for _, policy := range []string{"region", "single"} {
		placer := "region"
		if policy != "region" {
			placer = "scheduler, policy: " + policy
		}
		s := twoRegions(t, placer, "3s", 2, 4, "500ms")
		rep, err := Run(context.Background(), s, Options{Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if p := rep.Placement; p == nil || p.Placed != 16 || !want[policy](p) {
			t.Errorf("%s: placement %+v", policy, p)
		}
	}
}

// twoRegions is a scenario of two regions 40 ms apart (access nodes each
// and one forwarding node) with rooms audio-only meetings of four, two
// users in each region, placed by placer.
func twoRegions(t *testing.T, placer, duration string, access, rooms int, joinOver string) *Scenario {
	t.Helper()
	s, err := ParseScenario([]byte(fmt.Sprintf(`
duration: %s
warmup: 1s
placement: {placer: %s}
backbone:
  regions: [{name: eu, access: %d, forwarding: 1}, {name: us, access: %d, forwarding: 1}]
  local: {delay: 5ms}
  far: {delay: 40ms}
room_groups:
  - {prefix: m, count: %d, mode: meeting, publishers: 2, viewers: 2, regions: [eu, us], spread: 2, join_over: %s,
     tracks: [{kind: audio}]}
`, duration, placer, access, access, rooms, joinOver)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
