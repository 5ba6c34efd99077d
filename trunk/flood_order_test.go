package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// TestSubscriptionBeforeRoomRecord: a viewer's subscription may reach a
// forwarding node before the room record that announces the track does
// (records are flooded, with batching held up to a batch interval per hop;
// subscriptions go at once along the planned route). Here the host's node
// a reaches the viewer's node b directly in 10 ms, but the forwarding node
// f, the live room's route a → f → b, only over a 300 ms trunk, and b,
// busy flooding, holds the record back: f learns of the subscription
// about 280 ms before the record. f must still carry
// the track as a live room's (access nodes are never transit), not as a
// meeting's shortest path a → b → f, which b refuses as a loop.
func TestSubscriptionBeforeRoomRecord(t *testing.T) {
	fast := netsim.LinkConfig{Delay: 10 * time.Millisecond}
	cfg := sim.Config{Seed: 1, Tune: func(c *trunk.Config) {
		c.FloodBatch = 50 * time.Millisecond
		if c.Name == "b" {
			c.FloodBatch = 500 * time.Millisecond
		}
	}}
	for name, role := range map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding} {
		cfg.Nodes = append(cfg.Nodes, sim.NodeSpec{Name: name, Region: "r-" + name, Role: role})
	}
	cfg.Links = []sim.LinkSpec{{A: "a", B: "b", AB: fast}, {A: "f", B: "b", AB: fast},
		{A: "a", B: "f", AB: netsim.LinkConfig{Delay: 300 * time.Millisecond}}}
	n, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	if !n.RunUntil(10*time.Second, func() bool { return allTrunksUp(n) }) {
		t.Fatal("trunks not up after 10 s")
	}
	c := count(n)
	host := sim.TrackSpec{ID: "v", Kind: "video", FPS: 25, Bitrates: []float64{300e3}}
	must(t, n.Join("b", sim.User{ID: "viewer", Room: "show", Mode: "live", Watch: true}))
	n.RunFor(time.Second)
	// b floods a change of its own just before the host's record comes:
	// b holds the host's record up to its batch interval (500 ms) and
	// subscribes to the host's video through f meanwhile.
	must(t, n.Join("b", sim.User{ID: "other", Room: "elsewhere", Mode: "meeting"}))
	must(t, n.Join("a", sim.User{ID: "host", Room: "show", Mode: "live", Publish: []sim.TrackSpec{host}}))
	ref := trunk.TrackRef{Origin: "a", Room: "show", ID: "host-v"}
	joined := n.Elapsed()
	if !n.RunUntil(time.Second, func() bool { _, ok := flow(n, "f", ref, 0); return ok }) {
		t.Fatal("no subscription reaches f")
	}
	if hasOrigin(n.Node("f").Core.RemoteParts("show"), "a") {
		t.Fatalf("the record reached f before the subscription (%v after the join): the test no longer tests the order", n.Elapsed()-joined)
	}
	if fs, _ := flow(n, "f", ref, 0); fs.Mode != "live" || fs.Kind != "video" {
		t.Errorf("before the record, f carries the host's video as mode %q kind %q, want live video (the subscription says so)", fs.Mode, fs.Kind)
	}
	if !n.RunUntil(5*time.Second, func() bool { return c.get("b", ref, 0) > 50 }) {
		ff, _ := flow(n, "f", ref, 0)
		fb, _ := flow(n, "b", ref, 0)
		t.Fatalf("the viewer on b gets %d packets in 5 s; f's flow: mode %q kind %q from %q (path %v); b's: mode %q from %q",
			c.get("b", ref, 0), ff.Mode, ff.Kind, ff.Upstream, ff.Path, fb.Mode, fb.Upstream)
	}
	for _, node := range []string{"f", "b"} {
		if fs, _ := flow(n, node, ref, 0); fs.Mode != "live" || fs.Kind != "video" {
			t.Errorf("%s carries the host's video as mode %q kind %q, want live video", node, fs.Mode, fs.Kind)
		}
	}
}

func hasOrigin(rs []trunk.RoomState, origin string) bool {
	for _, r := range rs {
		if r.Origin == origin {
			return true
		}
	}
	return false
}
