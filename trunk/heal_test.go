package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// TestCoreHealWithoutChanges: a – f – b, and the f–b trunk is cut long
// enough that a and f forget b (and b forgets a and f), while nobody joins
// or leaves anywhere. After the cut heals, the rooms come back on every
// node and media flows both ways again, although no node had a reason to
// announce its rooms anew: the records the others refused as old (their
// sequence numbers are below the link state remembered of the forgotten
// node) must be announced again.
func TestCoreHealWithoutChanges(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
		[][2]string{{"a", "f"}, {"b", "f"}}, netsim.LinkConfig{})
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio}, Watch: true}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Publish: []sim.TrackSpec{audio}, Watch: true}))
	n.RunFor(3 * time.Second)
	if parts(n, "a") != "b:bob" || parts(n, "b") != "a:alice" {
		t.Fatalf("before the cut: a sees %q, b sees %q", parts(n, "a"), parts(n, "b"))
	}
	must(t, n.SetLink("f", "b", netsim.LinkConfig{Loss: netsim.Bernoulli(1)}))
	n.RunFor(12 * time.Second)
	if parts(n, "a") != "" || parts(n, "b") != "" {
		t.Fatalf("during the cut: a sees %q, b sees %q", parts(n, "a"), parts(n, "b"))
	}
	must(t, n.SetLink("f", "b", netsim.LinkConfig{Delay: 20 * time.Millisecond}))
	c := count(n)
	if !n.RunUntil(10*time.Second, func() bool {
		return parts(n, "a") == "b:bob" && parts(n, "b") == "a:alice" &&
			c.get("a", trunk.TrackRef{Origin: "b", Room: "r", ID: "bob-a"}, 0) > 20 &&
			c.get("b", trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}, 0) > 20
	}) {
		t.Fatalf("after the heal: a sees %q, b sees %q; media %v", parts(n, "a"), parts(n, "b"), c)
	}
}

// TestCoreSuspectWithoutAlternative: a – f – b, one path. The f–b trunk
// falls silent for 700 ms (a node starved of CPU, a short blackout):
// longer than suspicion (300 ms), shorter than the idle timeout. With no
// other route, b's flows keep f as their upstream and stay subscribed
// there, so the layers keep crossing the moment f is heard again; moving
// them to no upstream unsubscribed them hop by hop to the publisher.
func TestCoreSuspectWithoutAlternative(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
		[][2]string{{"a", "f"}, {"b", "f"}}, netsim.LinkConfig{})
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{video}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	v := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-v"}
	g := watchGaps(n, "b", v, 0)
	if !n.RunUntil(5*time.Second, func() bool { return g.packets > 50 }) {
		t.Fatal("no video at b")
	}
	must(t, n.SetLink("f", "b", netsim.LinkConfig{Loss: netsim.Bernoulli(1)}))
	n.RunFor(600 * time.Millisecond)
	if fb, _ := flow(n, "b", v, 0); fb.Upstream != "f" {
		t.Fatalf("b's flow upstream %q while f is suspect and no other route exists, want f", fb.Upstream)
	}
	n.RunFor(100 * time.Millisecond)
	g.start = n.Now()
	must(t, n.SetLink("f", "b", netsim.LinkConfig{Delay: 20 * time.Millisecond}))
	n.RunFor(2 * time.Second)
	fb, _ := flow(n, "b", v, 0)
	ff, _ := flow(n, "f", v, 0)
	if fb.Upstream != "f" || fb.Switches != 0 || len(ff.Down) != 1 || ff.Down[0] != "b" {
		t.Fatalf("after the silence: b's flow %+v, f's flow %+v", fb, ff)
	}
	if g.longest > 300*time.Millisecond {
		t.Fatalf("video gap %v after the trunk was heard again", g.longest)
	}
}
