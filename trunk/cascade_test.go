package trunk

import (
	"testing"
	"time"

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

// TestCascadeTwoHops publishes on access node a, subscribes on access node
// b, with the only path through forwarding node f. It checks membership
// crosses, media flows over two trunks, layer changes travel hop by hop,
// unwatched layers stop crossing, and leaving cleans up everywhere.
func TestCascadeTwoHops(t *testing.T) {
	nodes := startNet(t, netSpec{
		nodes:  map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
		trunks: [][2]string{{"a", "f"}, {"b", "f"}},
	})
	waitTrunks(t, nodes)
	for _, n := range nodes {
		for _, tk := range n.tr.Status().Trunks {
			if tk.Handshake != "0rtt" {
				t.Errorf("%s→%s handshake %q, want 0rtt", n.name, tk.Peer, tk.Handshake)
			}
		}
	}

	alice := joinClient(t, nodes["a"].sfu, "r", "meeting", "alice",
		sfutest.Options{Layers: []string{"s", "l"}, Audio: true, AudioLevel: 5, Subscribe: true})
	bob := joinClient(t, nodes["b"].sfu, "r", "meeting", "bob", sfutest.Options{Subscribe: true, Audio: true})

	// Both see each other through the cascade.
	bob.waitRecv("alice's video and audio through f", 15*time.Second, func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackOf(st, "video")
		a, oka := trackOf(st, "audio")
		return okv && oka && v.Participant == "alice" && v.Packets > 50 && a.Packets > 20
	})
	alice.waitRecv("bob's audio through f", 15*time.Second, func(st map[string]sfutest.TrackStats) bool {
		a, ok := trackOf(st, "audio")
		return ok && a.Participant == "bob" && a.Packets > 20
	})
	if r := nodes["b"].sfu.Room("r"); r == nil || r.Participant("alice") == nil {
		t.Fatal("alice is not mirrored into b's room")
	}
	fv, ok := flowAt(nodes["f"], "a", "video", 1)
	if !ok || fv.Upstream != "a" || len(fv.Down) != 1 || fv.Down[0] != "b" {
		t.Fatalf("f's flow of alice's large layer: %+v (ok %v)", fv, ok)
	}
	if got := fv.Path; len(got) != 3 || got[0] != "a" || got[1] != "f" || got[2] != "b" {
		// f plans a → f, b plans a → f → b; f reports its own path.
		if len(got) != 2 || got[0] != "a" || got[1] != "f" {
			t.Errorf("f's path %v", got)
		}
	}

	// Layer change: bob prefers small; b's receiver stops wanting large,
	// b unsubscribes it from f, f from a, and alice stops encoding it.
	bob.p.Prefer("alice", sfu.QualitySmall)
	waitFor(t, 10*time.Second, "large layer to stop crossing the trunks", func() bool {
		_, atF := flowAt(nodes["f"], "a", "video", 1)
		_, atA := flowAt(nodes["a"], "a", "video", 1)
		_, small := flowAt(nodes["f"], "a", "video", 0)
		return !atF && !atA && small
	})
	st := bob.waitRecv("small layer", 10*time.Second, func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.LastLayer == 0 && v.Layers[0] > 30
	})
	if v, _ := trackOf(st, "video"); v.PicGaps != 0 || v.TSBack != 0 {
		t.Errorf("relayed video not continuous across the layer switch: %+v", v)
	}

	// Back to large: the layer is subscribed again hop by hop, and a key
	// frame request reaches alice so bob can switch.
	kf := nodes["a"].tr.Status().Keyframes
	bob.p.Prefer("alice", sfu.QualityLarge)
	bob.waitRecv("large layer again", 10*time.Second, func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.LastLayer == 1
	})
	waitFor(t, 2*time.Second, "a key frame request at the origin", func() bool {
		return nodes["a"].tr.Status().Keyframes > kf
	})

	// Alice leaves: her mirror leaves b, and no flow remains anywhere.
	alice.close()
	waitFor(t, 10*time.Second, "alice's mirror to leave b", func() bool {
		r := nodes["b"].sfu.Room("r")
		return r == nil || r.Participant("alice") == nil
	})
	waitFor(t, 10*time.Second, "flows of alice to end", func() bool {
		for _, n := range nodes {
			for _, f := range n.tr.Status().Flows {
				if f.Origin == "a" {
					return false
				}
			}
		}
		return true
	})
}
