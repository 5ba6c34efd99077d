package trunk

import (
	"maps"
	"slices"
	"testing"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/trunk/route"
)

// flowAt returns the status of a node's flow of a track layer.
func flowAt(n *testNode, origin, kind string, layer int) (FlowStatus, bool) {
	for _, f := range n.tr.Status().Flows {
		if f.Origin == origin && f.Kind == kind && f.Layer == layer {
			return f, true
		}
	}
	return FlowStatus{}, false
}

// TestCascade is the end-to-end check of the SFU glue over real UDP:
// publishing on access node a and subscribing on access node b through
// forwarding node f, with synthetic pion clients. It checks membership
// crosses, media flows, layer changes travel hop by hop, unwatched layers
// stop crossing, key frame requests reach the publisher, and leaving
// cleans up everywhere (the delivery goroutines included). The same
// protocol in virtual time, without the SFU, is TestCoreCascade.
func TestCascade(t *testing.T) {
	testCascade(t, netSpec{
		nodes:  map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
		trunks: [][2]string{{"a", "f"}, {"b", "f"}},
	}, "f")
}

// testCascade runs the scenario; up is b's upstream for a's tracks.
func testCascade(t *testing.T, spec netSpec, up string) {
	nodes := startNet(t, spec)
	t.Cleanup(func() { logTrunksIfFailed(t, nodes) })
	waitTrunks(t, nodes)
	for _, n := range nodes {
		for _, tk := range n.tr.Status().Trunks {
			if tk.Handshake != "0rtt" {
				t.Errorf("%s→%s handshake %q, want 0rtt", n.name, tk.Peer, tk.Handshake)
			}
		}
	}

	// Publishing and subscribing are separate synthetic clients: an
	// sfutest client that does both shares one socket between its two
	// PeerConnections, which one SFU port cannot tell apart.
	alice := joinClient(t, nodes["a"].sfu, "r", "meeting", "alice",
		sfutest.Options{Layers: []string{"s", "l"}, Audio: true, AudioLevel: 5})
	ann := joinClient(t, nodes["a"].sfu, "r", "meeting", "ann", sfutest.Options{Subscribe: true})
	joinClient(t, nodes["b"].sfu, "r", "meeting", "bob-mic", sfutest.Options{Audio: true})
	bob := joinClient(t, nodes["b"].sfu, "r", "meeting", "bob", sfutest.Options{Subscribe: true})

	// Both see each other through the cascade.
	bob.waitRecv("alice's video and audio through f", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackFrom(st, "alice", "video")
		a, oka := trackFrom(st, "alice", "audio")
		return okv && oka && v.Packets > 50 && a.Packets > 20
	})
	ann.waitRecv("bob's audio through f", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		a, ok := trackFrom(st, "bob-mic", "audio")
		return ok && a.Packets > 20
	})
	if r := nodes["b"].sfu.Room("r"); r == nil || r.Participant("alice") == nil {
		t.Fatal("alice is not mirrored into b's room")
	}
	waitFor(t, e2eWait, "b's flow of alice's large layer", func() bool {
		fv, ok := flowAt(nodes["b"], "a", "video", 1)
		return ok && fv.Upstream == up && fv.Local
	})
	if up != "a" {
		// Waited for too: a trunk that went down and up again on a busy
		// machine leaves the flow without its upstream for a moment.
		waitFor(t, e2eWait, up+"'s flow of alice's large layer from a to b", func() bool {
			fv, ok := flowAt(nodes[up], "a", "video", 1)
			return ok && fv.Upstream == "a" && len(fv.Down) == 1 && fv.Down[0] == "b" && !fv.Local
		})
	}

	// Layer change: bob prefers small; b's receiver stops wanting large,
	// b unsubscribes it from f, f from a, and alice stops encoding it.
	bob.p.Prefer("alice", sfu.QualitySmall)
	waitFor(t, e2eWait, "large layer to stop crossing the trunks", func() bool {
		_, atUp := flowAt(nodes[up], "a", "video", 1)
		_, atA := flowAt(nodes["a"], "a", "video", 1)
		_, small := flowAt(nodes["b"], "a", "video", 0)
		return !atUp && !atA && small
	})
	st := bob.waitRecv("small layer", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.LastLayer == 0 && v.Layers[0] > 30
	})
	// On a busy machine the trunks may give up late packets (their media
	// expires) and loopback may drop some: loss is allowed, a stream the
	// switch broke is not.
	if v, _ := trackOf(st, "video"); v.Breaks != 0 {
		t.Errorf("relayed video not continuous across the layer switch: %+v", v)
	} else if v.SeqGaps != 0 {
		t.Logf("relayed video lost packets (%d gaps, %d frames), without a break", v.SeqGaps, v.PicGaps)
	}

	// Back to large: the layer is subscribed again hop by hop, and a key
	// frame request reaches alice so bob can switch.
	kf := nodes["a"].tr.Status().Keyframes
	bob.p.Prefer("alice", sfu.QualityLarge)
	bob.waitRecv("large layer again", e2eWait, func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.LastLayer == 1
	})
	waitFor(t, e2eWait, "a key frame request at the origin", func() bool {
		return nodes["a"].tr.Status().Keyframes > kf
	})

	// Alice leaves: her mirror leaves b, and no flow remains anywhere.
	alice.close()
	waitFor(t, e2eWait, "alice's mirror to leave b", func() bool {
		r := nodes["b"].sfu.Room("r")
		return r == nil || r.Participant("alice") == nil
	})
	waitFor(t, e2eWait, "flows of alice to end", func() bool {
		for _, n := range nodes {
			for _, f := range n.tr.Status().Flows {
				if f.Origin == "a" {
					return false
				}
			}
		}
		return true
	})
	// Delivery goroutines end with their mirrored tracks: b mirrored only
	// alice's tracks; a still mirrors bob-mic's audio until it closes.
	if n := nodes["b"].tr.access.feeds.running.Load(); n != 0 {
		t.Errorf("b runs %d feeds after alice left, want 0", n)
	}
	if n := nodes["a"].tr.access.feeds.running.Load(); n != 1 {
		t.Errorf("a runs %d feeds for bob-mic's audio, want 1", n)
	}
	_ = nodes["a"].tr.Close()
	if n := nodes["a"].tr.access.feeds.running.Load(); n != 0 {
		t.Errorf("a runs %d feeds after Close, want 0", n)
	}
}

// trackFrom finds a participant's track of a kind.
func trackFrom(st map[string]sfutest.TrackStats, participant, kind string) (sfutest.TrackStats, bool) {
	for _, s := range st {
		if s.Kind == kind && s.Participant == participant {
			return s, true
		}
	}
	return sfutest.TrackStats{}, false
}

// logTrunksIfFailed logs, for a failed test, what each node's trunks went
// through (a trunk that went down and up again under load explains a flow
// caught without its upstream), its flows with their packet counts, and
// what each SFU decided for its subscribers (an estimate that collapsed
// on a busy machine pauses a thumbnail: no packets for it, flows intact).
func logTrunksIfFailed(t *testing.T, nodes map[string]*testNode) {
	if !t.Failed() {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		st := nodes[name].tr.Status()
		for _, tk := range st.Trunks {
			t.Logf("%s→%s: up %v, connects %d, down reason %q, media drops %d, expired %d",
				name, tk.Peer, tk.Up, tk.Connects, tk.DownReason, tk.MediaDrops, tk.MessagesExpired)
		}
		for _, f := range st.Flows {
			t.Logf("%s flow %s/%s layer %d: upstream %q, next %q, path %v, down %v, local %v, switches %d, packets %d",
				name, f.Origin, f.Kind, f.Layer, f.Upstream, f.Next, f.Path, f.Down, f.Local, f.Switches, f.Packets)
		}
		if nodes[name].sfu == nil {
			continue
		}
		for _, r := range nodes[name].sfu.Snapshot() {
			for _, p := range r.Participants {
				t.Logf("%s sfu %s/%s: estimate %d, congested %v, overuse %v, loss %.3f, video %+v", name, r.Name, p.ID,
					p.Estimate, p.Congested, p.Overuse, p.Loss, p.Video)
				for _, tr := range p.Tracks {
					t.Logf("%s sfu %s/%s track %s %s: %+v", name, r.Name, p.ID, tr.ID, tr.Kind, tr.Layers)
				}
			}
		}
	}
}
