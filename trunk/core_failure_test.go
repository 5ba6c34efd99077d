package trunk_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// Failures, flapping, partitions, restarts and the cost of flooding, in
// virtual time (core_test.go has the harness).

// gapWatch records the longest gap between packets delivered to a node for
// one track layer, from start on.
type gapWatch struct {
	last, start time.Time
	longest     time.Duration
	packets     int
}

func watchGaps(n *sim.Network, node string, ref trunk.TrackRef, layer int) *gapWatch {
	g := &gapWatch{}
	n.OnDeliver = func(nd string, r trunk.TrackRef, l int, _ []byte) {
		if nd != node || r != ref || l != layer {
			return
		}
		now := n.Now()
		if !g.last.IsZero() && !g.start.IsZero() && now.After(g.start) {
			from := g.last
			if from.Before(g.start) {
				from = g.start
			}
			g.longest = max(g.longest, now.Sub(from))
		}
		g.last = now
		g.packets++
	}
	return g
}

// TestCoreFailover: a → {f1, f2} → b. The forwarding node carrying the
// media dies silently; media moves to the other with a gap bounded by the
// failure detection (a trunk that fed media and fell silent for 300 ms is
// suspect), a round trip and a key frame, and nobody leaves the room. Then the other node is stopped gracefully,
// which its peers learn at once.
func TestCoreFailover(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f1": route.Forwarding, "f2": route.Forwarding},
		[][2]string{{"a", "f1"}, {"a", "f2"}, {"b", "f1"}, {"b", "f2"}}, netsim.LinkConfig{})
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	a := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}
	g := watchGaps(n, "b", a, 0)
	if !n.RunUntil(5*time.Second, func() bool { return g.packets > 50 }) {
		t.Fatal("no audio at b")
	}
	fb, _ := flow(n, "b", a, 0)
	first := fb.Upstream
	other := map[string]string{"f1": "f2", "f2": "f1"}[first]
	if other == "" {
		t.Fatalf("b gets alice's audio from %q", first)
	}

	g.start = n.Now()
	must(t, n.Kill(first))
	n.RunFor(5 * time.Second)
	if fb, _ := flow(n, "b", a, 0); fb.Upstream != other {
		t.Fatalf("b's audio comes from %q after %s died, want %s", fb.Upstream, first, other)
	}
	// Suspicion (300 ms) + the new route's round trip; the trunk's idle
	// timeout (1.5 s) is not waited for.
	if g.longest > time.Second || g.longest == 0 {
		t.Fatalf("audio gap %v after %s died silently", g.longest, first)
	}
	t.Logf("silent failure of %s: longest audio gap %v", first, g.longest)
	if len(n.Node("b").Core.RemoteParts("r")) != 1 {
		t.Fatal("alice left b's room during the failover")
	}

	must(t, n.Restart(first))
	if !n.RunUntil(10*time.Second, func() bool { return allTrunksUp(n) }) {
		t.Fatal("trunks not back after the restart")
	}
	g.start, g.longest = n.Now(), 0
	must(t, n.Stop(other))
	n.RunFor(3 * time.Second)
	if fb, _ := flow(n, "b", a, 0); fb.Upstream != first {
		t.Fatalf("b's audio comes from %q after %s stopped", fb.Upstream, other)
	}
	if g.longest > 300*time.Millisecond {
		t.Fatalf("audio gap %v after %s stopped gracefully", g.longest, other)
	}
	t.Logf("graceful stop of %s: longest audio gap %v", other, g.longest)
}

// TestCoreFlappingLink: the trunk a–f1 under the route flaps: its delay
// jumps between 10 ms and 60 ms every 2 s (the other path, through f2,
// is 30 ms), and it blacks out for 400 ms every 3 s. The routes must not
// follow: hysteresis holds a better path back for 3 s, so the route moves
// at most once (a blackout makes the trunk suspect and moves the media
// away) and never back and forth; a blackout shorter than the idle
// timeout does not take the trunk down.
func TestCoreFlappingLink(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f1": route.Forwarding, "f2": route.Forwarding},
		[][2]string{{"a", "f1"}, {"a", "f2"}, {"b", "f1"}, {"b", "f2"}}, netsim.LinkConfig{Delay: 10 * time.Millisecond})
	must(t, n.SetLink("a", "f2", netsim.LinkConfig{Delay: 30 * time.Millisecond}))
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	a := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}
	n.RunFor(5 * time.Second)
	if fb, _ := flow(n, "b", a, 0); fb.Upstream != "f1" {
		t.Fatalf("b's audio comes from %q, want f1 (the shorter path)", fb.Upstream)
	}
	up := map[bool]netsim.LinkConfig{true: {Delay: 10 * time.Millisecond}, false: {Delay: 60 * time.Millisecond}}
	for i := range 10 {
		n.At(n.Elapsed()+time.Duration(i)*2*time.Second, func() { _ = n.SetLink("a", "f1", up[i%2 == 1]) })
	}
	for i := range 6 {
		at := n.Elapsed() + time.Duration(i)*3*time.Second + 500*time.Millisecond
		n.At(at, func() { _ = n.SetLink("a", "f1", netsim.LinkConfig{Loss: netsim.Bernoulli(1)}) })
		n.At(at+400*time.Millisecond, func() { _ = n.SetLink("a", "f1", up[true]) })
	}
	n.RunFor(20 * time.Second)
	fb, _ := flow(n, "b", a, 0)
	fa, _ := flow(n, "a", a, 0)
	if fb.Switches > 1 || fb.Upstream == "" {
		t.Fatalf("b's route switched %d times over the flapping (upstream %q)", fb.Switches, fb.Upstream)
	}
	for _, tk := range n.Node("a").Core.Status(n.Now()).Trunks {
		if tk.Peer == "f1" && tk.Connects != 1 {
			t.Errorf("trunk a–f1 reconnected %d times: short blackouts were taken as failures", tk.Connects-1)
		}
	}
	t.Logf("b: upstream %s, %d switches; a sends to %v", fb.Upstream, fb.Switches, fa.Down)
}

// TestCorePartitionHeal: a – f1 – f2 – b. The f1–f2 trunk is cut for 20 s,
// longer than link state lives, so each side forgets the other side's
// nodes and rooms. Users come and go on both sides during the cut. After
// it heals, both sides hold the same rooms and media flows both ways. With
// scoped room flooding (flood_scope.go), the same, but an access node
// holds only the rooms it hosts.
func TestCorePartitionHeal(t *testing.T) {
	t.Run("flooded", func(t *testing.T) { testPartitionHeal(t, false) })
	t.Run("scoped", func(t *testing.T) { testPartitionHeal(t, true) })
}

func testPartitionHeal(t *testing.T, scoped bool) {
	n := vnetTuned(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f1": route.Forwarding, "f2": route.Forwarding},
		[][2]string{{"a", "f1"}, {"f1", "f2"}, {"f2", "b"}}, netsim.LinkConfig{}, func(c *trunk.Config) { c.ScopedRooms = scoped })
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio}, Watch: true}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Publish: []sim.TrackSpec{audio}, Watch: true}))
	must(t, n.Join("b", sim.User{ID: "ben", Room: "r", Watch: true}))
	n.RunFor(3 * time.Second)
	if parts(n, "a") != "b:ben,bob" || parts(n, "b") != "a:alice" {
		t.Fatalf("before the cut: a sees %q, b sees %q", parts(n, "a"), parts(n, "b"))
	}
	must(t, n.SetLink("f1", "f2", netsim.LinkConfig{Loss: netsim.Bernoulli(1)}))
	n.RunFor(12 * time.Second)
	if parts(n, "a") != "" || parts(n, "b") != "" {
		t.Fatalf("during the cut: a sees %q, b sees %q", parts(n, "a"), parts(n, "b"))
	}
	must(t, n.Join("a", sim.User{ID: "carol", Room: "r", Publish: []sim.TrackSpec{audio}}))
	must(t, n.Leave("b", "r", "ben"))
	must(t, n.Join("b", sim.User{ID: "dave", Room: "r2", Publish: []sim.TrackSpec{audio}}))
	n.RunFor(8 * time.Second)
	must(t, n.SetLink("f1", "f2", netsim.LinkConfig{Delay: 20 * time.Millisecond}))
	c := count(n)
	if !n.RunUntil(10*time.Second, func() bool {
		return parts(n, "a") == "b:bob" && parts(n, "b") == "a:alice,carol" &&
			c.get("a", trunk.TrackRef{Origin: "b", Room: "r", ID: "bob-a"}, 0) > 20 &&
			c.get("b", trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}, 0) > 20 &&
			c.get("b", trunk.TrackRef{Origin: "a", Room: "r", ID: "carol-a"}, 0) > 20
	}) {
		t.Fatalf("after the heal: a sees %q, b sees %q; media %v", parts(n, "a"), parts(n, "b"), c)
	}
	for _, nd := range n.Nodes() {
		st := nd.Core.Status(n.Now())
		if len(st.Nodes) != 4 {
			t.Errorf("%s knows %d nodes after the heal", nd.Spec.Name, len(st.Nodes))
		}
		rooms := map[string]map[string]int{}
		for _, r := range st.Rooms {
			rooms[r.Room] = r.Participants
		}
		want := 2
		if scoped && nd.Spec.Name == "a" {
			want = 1 // a does not host r2
		}
		if rooms["r"]["a"] != 2 || rooms["r"]["b"] != 1 || (want == 2 && rooms["r2"]["b"] != 1) || len(rooms) != want {
			t.Errorf("%s's rooms after the heal: %v", nd.Spec.Name, rooms)
		}
	}
}

// parts lists the remote participants a node sees in room r, as
// "origin:id,id;origin:...".
func parts(n *sim.Network, node string) string {
	s := ""
	for _, rs := range n.Node(node).Core.RemoteParts("r") {
		if s != "" {
			s += ";"
		}
		s += rs.Origin + ":"
		for i, p := range rs.Participants {
			if i > 0 {
				s += ","
			}
			s += p.ID
		}
	}
	return s
}

// TestCoreRestartDropsOldParticipants: a node with participants restarts
// before its peers forget it. Its old room record comes back to it in the
// full exchange of its new trunks; it supersedes it with a tombstone, so
// the participants of its earlier life leave the other nodes' rooms.
func TestCoreRestartDropsOldParticipants(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
		[][2]string{{"a", "f"}, {"b", "f"}}, netsim.LinkConfig{})
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	n.RunFor(2 * time.Second)
	if got := parts(n, "b"); got != "a:alice" {
		t.Fatalf("b sees %q", got)
	}
	must(t, n.Kill("a"))
	n.RunFor(500 * time.Millisecond)
	must(t, n.Restart("a"))
	if !n.RunUntil(5*time.Second, func() bool { return parts(n, "b") == "" && allTrunksUp(n) }) {
		t.Fatalf("b still sees %q from a's earlier life", parts(n, "b"))
	}
	// The new life is a full member: a user joining it is seen.
	must(t, n.Join("a", sim.User{ID: "ann", Room: "r", Publish: []sim.TrackSpec{audio}}))
	if !n.RunUntil(3*time.Second, func() bool { return parts(n, "b") == "a:ann" }) {
		t.Fatalf("b sees %q after ann joined the restarted a", parts(n, "b"))
	}
}

// TestCoreFloodingCost: in a steady network link state is refreshed
// rarely (every 10 s, or when a trunk changes enough to matter), also
// round cycles of trunks (a node's own record coming back is no news),
// and a crowd joining a room is flooded as small deltas, not as the whole
// growing record per join.
func TestCoreFloodingCost(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f1": route.Forwarding, "f2": route.Forwarding},
		[][2]string{{"a", "f1"}, {"a", "f2"}, {"b", "f1"}, {"b", "f2"}}, netsim.LinkConfig{Delay: 5 * time.Millisecond})
	// The long way round is the fast one: a's records reach f2 through f1
	// and b first, and f2 sends them back to a.
	must(t, n.SetLink("a", "f2", netsim.LinkConfig{Delay: 100 * time.Millisecond}))
	n.RunFor(5 * time.Second)
	lsa := func() (sum uint64) {
		for _, nd := range n.Nodes() {
			sum += nd.Core.Counters().Control["lsa"].Msgs
		}
		return sum
	}
	l0 := lsa()
	n.RunFor(20 * time.Second)
	// Each of 4 nodes refreshes twice, each record crossing at most the
	// 4 trunks both ways.
	if got := lsa() - l0; got > 2*4*8 {
		t.Errorf("%d link-state messages in 20 s of a steady 4-node ring", got)
	}
	t.Logf("%d link-state messages in 20 s of a steady 4-node ring", lsa()-l0)

	must(t, n.Join("b", sim.User{ID: "host", Room: "show", Mode: "live", Publish: []sim.TrackSpec{audio}}))
	n.RunFor(3 * time.Second)
	before := n.Node("a").Core.Counters()
	for i := range 400 {
		n.At(n.Elapsed()+time.Duration(i)*25*time.Millisecond, func() {
			must(t, n.Join("a", sim.User{ID: fmt.Sprintf("v%03d", i), Room: "show", Mode: "live", Watch: true}))
		})
	}
	n.RunFor(20 * time.Second)
	after := n.Node("a").Core.Counters()
	rooms := after.Control["room"].Bytes - before.Control["room"].Bytes
	// Whole records would cost 400 joins × ~200 participants × ~30 bytes
	// for each of a's two trunks.
	if rooms > 200_000 {
		t.Errorf("a sent %d bytes of room records for 400 joins", rooms)
	}
	if got := len(n.Node("b").Core.RemoteParts("show")); got != 1 {
		t.Fatalf("b sees %d remote parts of the room", got)
	}
	if got := len(n.Node("b").Core.RemoteParts("show")[0].Participants); got != 400 {
		t.Fatalf("b sees %d of a's 400 viewers", got)
	}
	t.Logf("a sent %d bytes of room records for 400 joins", rooms)
}

// TestCoreDualAudio: with dual audio on, b takes alice's audio from both
// forwarding nodes; when the one it calls its upstream dies silently, the
// audio goes on through the standby without a gap anyone could hear.
func TestCoreDualAudio(t *testing.T) {
	n := vnetTuned(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f1": route.Forwarding, "f2": route.Forwarding},
		[][2]string{{"a", "f1"}, {"a", "f2"}, {"b", "f1"}, {"b", "f2"}}, netsim.LinkConfig{Delay: 20 * time.Millisecond},
		func(c *trunk.Config) { c.Scenarios = map[string]trunk.Scenario{"meeting": {DualAudio: true}} })
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio, video}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	a := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}
	g := watchGaps(n, "b", a, 0)
	if !n.RunUntil(5*time.Second, func() bool { return g.packets > 50 }) {
		t.Fatal("no audio at b")
	}
	fb, _ := flow(n, "b", a, 0)
	if fb.Standby == "" || fb.Standby == fb.Upstream {
		t.Fatalf("b's audio flow: upstream %q, standby %q", fb.Upstream, fb.Standby)
	}
	v, _ := flow(n, "b", trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-v"}, 1)
	if v.Standby != "" {
		t.Fatalf("video got a standby upstream %q", v.Standby)
	}
	g.start = n.Now()
	must(t, n.Kill(fb.Upstream))
	n.RunFor(3 * time.Second)
	if g.longest > 100*time.Millisecond {
		t.Fatalf("audio gap %v when %s died, with %s on standby", g.longest, fb.Upstream, fb.Standby)
	}
	t.Logf("%s died: longest audio gap %v (standby %s)", fb.Upstream, g.longest, fb.Standby)
}
