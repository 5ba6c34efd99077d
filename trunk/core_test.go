package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// These tests run the trunk Core of every node in virtual time (package
// sim over qrtp/netsim), with synthetic publishers and viewers in place of
// the SFU: no sockets, no sleeps, the same result on every run.

// vnet builds a simulated network: nodes by name and role, trunks with a
// 20 ms one-way delay each way unless link says otherwise.
func vnet(t *testing.T, nodes map[string]route.Role, trunks [][2]string, link netsim.LinkConfig) *sim.Network {
	t.Helper()
	return vnetTuned(t, nodes, trunks, link, nil)
}

// vnetTuned is vnet with every node's trunk configuration changed by tune.
func vnetTuned(t *testing.T, nodes map[string]route.Role, trunks [][2]string, link netsim.LinkConfig, tune func(*trunk.Config)) *sim.Network {
	t.Helper()
	cfg := sim.Config{Seed: 1, Tune: tune}
	for name, role := range nodes {
		cfg.Nodes = append(cfg.Nodes, sim.NodeSpec{Name: name, Region: "r-" + name, Role: role})
	}
	if link == (netsim.LinkConfig{}) {
		link = netsim.LinkConfig{Delay: 20 * time.Millisecond}
	}
	for _, tk := range trunks {
		cfg.Links = append(cfg.Links, sim.LinkSpec{A: tk[0], B: tk[1], AB: link})
	}
	n, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	if !n.RunUntil(10*time.Second, func() bool { return allTrunksUp(n) }) {
		t.Fatal("trunks not up after 10 s")
	}
	return n
}

func allTrunksUp(n *sim.Network) bool {
	for _, nd := range n.Nodes() {
		if !nd.Up() {
			continue
		}
		st := nd.Core.Status(n.Now())
		for _, tk := range st.Trunks {
			if !tk.Up && n.Node(tk.Peer).Up() {
				return false
			}
		}
		if len(st.Nodes) < len(n.Nodes()) {
			return false
		}
	}
	return true
}

// flow returns a node's flow of a track layer.
func flow(n *sim.Network, node string, ref trunk.TrackRef, layer int) (trunk.FlowStatus, bool) {
	for _, f := range n.Node(node).Core.Status(n.Now()).Flows {
		if f.Origin == ref.Origin && f.Room == ref.Room && f.Track == ref.ID && f.Layer == layer {
			return f, true
		}
	}
	return trunk.FlowStatus{}, false
}

// counter counts the packets delivered to each node's viewers, per track
// layer.
type counter map[string]map[trunk.TrackRef]map[int]int

func count(n *sim.Network) counter {
	c := counter{}
	n.OnDeliver = func(node string, ref trunk.TrackRef, layer int, _ []byte) {
		if c[node] == nil {
			c[node] = map[trunk.TrackRef]map[int]int{}
		}
		if c[node][ref] == nil {
			c[node][ref] = map[int]int{}
		}
		c[node][ref][layer]++
	}
	return c
}

func (c counter) get(node string, ref trunk.TrackRef, layer int) int { return c[node][ref][layer] }

var (
	video = sim.TrackSpec{ID: "v", Kind: "video", FPS: 25, Bitrates: []float64{150e3, 600e3}}
	audio = sim.TrackSpec{ID: "a", Kind: "audio"}
)

func TestCoreCascade(t *testing.T) {
	t.Run("one hop", func(t *testing.T) {
		testCoreCascade(t, map[string]route.Role{"a": route.Access, "b": route.Access}, [][2]string{{"a", "b"}}, "a")
	})
	t.Run("two hops", func(t *testing.T) {
		testCoreCascade(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
			[][2]string{{"a", "f"}, {"b", "f"}}, "f")
	})
}

// testCoreCascade: alice publishes on a, bob watches on b. Membership
// crosses, media flows through up, only the watched layer crosses, a layer
// change travels hop by hop with a key frame request to a, and leaving
// cleans up everywhere.
func testCoreCascade(t *testing.T, nodes map[string]route.Role, trunks [][2]string, up string) {
	n := vnet(t, nodes, trunks, netsim.LinkConfig{})
	c := count(n)
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{video, audio}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true, Layer: 1}))
	v := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-v"}
	a := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}
	if !n.RunUntil(5*time.Second, func() bool { return c.get("b", v, 1) > 50 && c.get("b", a, 0) > 50 }) {
		t.Fatalf("bob got %d large video and %d audio packets", c.get("b", v, 1), c.get("b", a, 0))
	}
	fb, _ := flow(n, "b", v, 1)
	if fb.Upstream != up || !fb.Local {
		t.Fatalf("b's flow of the large layer: %+v", fb)
	}
	if up != "a" {
		ff, _ := flow(n, up, v, 1)
		if ff.Upstream != "a" || len(ff.Down) != 1 || ff.Down[0] != "b" || ff.Local {
			t.Fatalf("%s's flow of the large layer: %+v", up, ff)
		}
	}
	// Only the watched layer crosses: a never sends the small one.
	if _, ok := flow(n, "a", v, 0); ok || c.get("b", v, 0) != 0 {
		t.Fatalf("the small layer crossed though nobody watches it (%d packets)", c.get("b", v, 0))
	}

	// Bob switches to small: the large layer stops crossing hop by hop, the
	// small one starts with a key frame request that reaches a.
	kf := n.M.Keyframes()
	must(t, n.Prefer("b", "r", "bob", 0))
	if !n.RunUntil(3*time.Second, func() bool {
		_, large := flow(n, "a", v, 1)
		_, largeUp := flow(n, up, v, 1)
		return !large && !largeUp && c.get("b", v, 0) > 20
	}) {
		t.Fatal("the large layer still crosses, or the small one does not, after the switch")
	}
	if n.M.Keyframes() == kf {
		t.Error("no key frame request reached the publisher's node for the new layer")
	}

	// A key frame request from b's viewers reaches a.
	kf = n.M.Keyframes()
	n.RunFor(time.Second)
	n.Node("b").Core.RequestKeyframe(n.Now(), v, 0)
	n.RunFor(200 * time.Millisecond)
	if n.M.Keyframes() == kf {
		t.Error("b's key frame request did not reach a")
	}

	// Bob leaves: every flow of alice's tracks ends, everywhere.
	must(t, n.Leave("b", "r", "bob"))
	if !n.RunUntil(3*time.Second, func() bool {
		for _, nd := range n.Nodes() {
			if len(nd.Core.Status(n.Now()).Flows) > 0 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("flows remain after the only viewer left")
	}
	// And alice's leaving reaches b's room database.
	must(t, n.Leave("a", "r", "alice"))
	if !n.RunUntil(3*time.Second, func() bool { return len(n.Node("b").Core.RemoteParts("r")) == 0 }) {
		t.Fatal("b still sees alice after she left")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCoreLiveTree: a live room with the host on a and viewers on b (two)
// and c (one), behind forwarding node f; a direct a–b trunk exists too.
// Live routes keep access nodes as leaves of a tree over forwarding nodes,
// so each trunk link carries one copy of each layer: a sends once to f,
// f once to b and once to c, and the a–b trunk carries nothing.
func TestCoreLiveTree(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "c": route.Access, "f": route.Forwarding},
		[][2]string{{"a", "f"}, {"b", "f"}, {"c", "f"}, {"a", "b"}}, netsim.LinkConfig{})
	c := count(n)
	host := sim.TrackSpec{ID: "v", Kind: "video", Bitrates: []float64{500e3}}
	must(t, n.Join("a", sim.User{ID: "host", Room: "show", Mode: "live", Publish: []sim.TrackSpec{host, audio}}))
	for _, v := range []struct{ node, id string }{{"b", "v1"}, {"b", "v2"}, {"c", "v3"}} {
		must(t, n.Join(v.node, sim.User{ID: v.id, Room: "show", Mode: "live", Watch: true}))
	}
	vref := trunk.TrackRef{Origin: "a", Room: "show", ID: "host-v"}
	if !n.RunUntil(5*time.Second, func() bool { return c.get("b", vref, 0) > 30 && c.get("c", vref, 0) > 30 }) {
		t.Fatal("the viewers on b and c get no video")
	}
	for _, id := range []string{"host-v", "host-a"} {
		ref := trunk.TrackRef{Origin: "a", Room: "show", ID: id}
		fa, _ := flow(n, "a", ref, 0)
		ff, _ := flow(n, "f", ref, 0)
		fb, _ := flow(n, "b", ref, 0)
		if len(fa.Down) != 1 || fa.Down[0] != "f" || ff.Upstream != "a" || len(ff.Down) != 2 || fb.Upstream != "f" {
			t.Fatalf("%s: a sends to %v, f gets from %q and sends to %v, b gets from %q", id, fa.Down, ff.Upstream, ff.Down, fb.Upstream)
		}
	}
	for _, tk := range n.Node("a").Core.Status(n.Now()).Trunks {
		if tk.Peer == "b" && tk.FlowsOut != 0 {
			t.Errorf("the direct a–b trunk carries %d flows of a live room", tk.FlowsOut)
		}
	}
}
