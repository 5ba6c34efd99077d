package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// TestScopedRooms: access nodes with ScopedRooms receive only the records
// of the rooms they host. c, in another room, holds none of room r's
// records while a and b share r and its media; the forwarding node holds
// every room. When a user of c joins r, c gets r's records at once and the
// media; when it leaves, c forgets the other nodes' records of r.
func TestScopedRooms(t *testing.T) {
	n := vnetTuned(t, map[string]route.Role{"a": route.Access, "b": route.Access, "c": route.Access, "f": route.Forwarding},
		[][2]string{{"a", "f"}, {"b", "f"}, {"c", "f"}}, netsim.LinkConfig{}, func(c *trunk.Config) { c.ScopedRooms = true })
	cnt := count(n)
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{audio}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	must(t, n.Join("c", sim.User{ID: "carl", Room: "s", Publish: []sim.TrackSpec{audio}}))
	ref := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-a"}
	if !n.RunUntil(5*time.Second, func() bool { return cnt.get("b", ref, 0) > 20 }) {
		t.Fatal("b gets no audio from a")
	}
	n.RunFor(time.Second)
	if got := n.Node("c").Core.RemoteParts("r"); len(got) != 0 {
		t.Fatalf("c, not in r, holds r's records: %v", got)
	}
	if got := n.Node("a").Core.RemoteParts("s"); len(got) != 0 {
		t.Fatalf("a, not in s, holds s's records: %v", got)
	}
	if len(n.Node("f").Core.RemoteParts("r")) != 2 || len(n.Node("f").Core.RemoteParts("s")) != 1 {
		t.Fatalf("f holds %d records of r and %d of s, want 2 and 1",
			len(n.Node("f").Core.RemoteParts("r")), len(n.Node("f").Core.RemoteParts("s")))
	}
	must(t, n.Join("c", sim.User{ID: "cora", Room: "r", Watch: true}))
	if !n.RunUntil(3*time.Second, func() bool { return cnt.get("c", ref, 0) > 20 }) {
		t.Fatalf("c, now in r, gets no audio from a; it holds %v", n.Node("c").Core.RemoteParts("r"))
	}
	if len(n.Node("c").Core.RemoteParts("r")) != 2 {
		t.Fatalf("c holds %v of r, want a's and b's records", n.Node("c").Core.RemoteParts("r"))
	}
	must(t, n.Leave("c", "r", "cora"))
	n.RunFor(2 * time.Second)
	if got := n.Node("c").Core.RemoteParts("r"); len(got) != 0 {
		t.Fatalf("c left r but holds its records: %v", got)
	}
	if len(n.Node("b").Core.RemoteParts("r")) != 1 {
		t.Fatalf("b holds %v of r, want a's record", n.Node("b").Core.RemoteParts("r"))
	}
}
