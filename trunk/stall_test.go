package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// stallNet: a → {f1, f2} → b, alice's video on a reaches bob on b through
// one of the forwarding nodes; it returns the network, the track and the
// upstream b gets it from.
func stallNet(t *testing.T) (*sim.Network, trunk.TrackRef, string) {
	t.Helper()
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f1": route.Forwarding, "f2": route.Forwarding},
		[][2]string{{"a", "f1"}, {"a", "f2"}, {"b", "f1"}, {"b", "f2"}}, netsim.LinkConfig{})
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Publish: []sim.TrackSpec{video}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Watch: true}))
	v := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-v"}
	if !n.RunUntil(5*time.Second, func() bool { fb, ok := flow(n, "b", v, 0); return ok && fb.Upstream != "" }) {
		t.Fatal("no video flow at b")
	}
	n.RunFor(2 * time.Second) // let the route settle
	fb, _ := flow(n, "b", v, 0)
	return n, v, fb.Upstream
}

// TestCoreStallIsNotFailure: b's whole process stalls for 350 ms (virtual
// time jumps; every one of its trunks falls silent at once, the one that
// feeds it video included). That silence is b's own: it must probe, hear
// its peers answer, and keep the flow where it was: no route switch (whose
// new far node would wait for a key frame).
func TestCoreStallIsNotFailure(t *testing.T) {
	for _, stall := range []time.Duration{350 * time.Millisecond, 600 * time.Millisecond} {
		n, v, up := stallNet(t)
		before, _ := flow(n, "b", v, 0)
		must(t, n.Stall("b", stall))
		n.RunFor(stall + time.Second)
		fb, _ := flow(n, "b", v, 0)
		if fb.Upstream != up || fb.Switches != before.Switches {
			t.Fatalf("after b stalled %v: flow %+v, before %+v: a false failover", stall, fb, before)
		}
	}
}

// TestCoreSilentPeerStillFailsOver: the same network, but only the
// forwarding node that feeds b goes silent (killed) while b's other
// trunks keep talking: b moves the flow to the other forwarding node as
// before, within suspicion plus a probe at most.
func TestCoreSilentPeerStillFailsOver(t *testing.T) {
	n, v, up := stallNet(t)
	other := map[string]string{"f1": "f2", "f2": "f1"}[up]
	must(t, n.Kill(up))
	start := n.Now()
	if !n.RunUntil(2*time.Second, func() bool { fb, _ := flow(n, "b", v, 0); return fb.Upstream == other }) {
		fb, _ := flow(n, "b", v, 0)
		t.Fatalf("b's flow %+v 2 s after %s died, want upstream %s", fb, up, other)
	}
	if took := n.Now().Sub(start); took > 600*time.Millisecond {
		t.Fatalf("failover took %v after %s died (suspicion 300 ms)", took, up)
	}
}

// TestCoreThrottledKeyframeWaits: a key frame request inside the
// throttle interval of the last one (another subscriber's, the old
// route's) is asked when the interval ends, not dropped: the requester
// may have joined after the earlier key frame went out.
func TestCoreThrottledKeyframeWaits(t *testing.T) {
	n, v, _ := stallNet(t)
	b := n.Node("b").Core
	kf := func() uint64 { return b.Status(n.Now()).Keyframes }
	n.RunFor(time.Second) // past any request of the set-up
	before := kf()
	b.RequestKeyframe(n.Now(), v, 0)
	n.RunFor(50 * time.Millisecond)
	b.RequestKeyframe(n.Now(), v, 0) // throttled: waits
	b.RequestKeyframe(n.Now(), v, 0) // at most one waits
	if got := kf() - before; got != 1 {
		t.Fatalf("%d requests passed within the interval, want 1", got)
	}
	n.RunFor(300 * time.Millisecond)
	if got := kf() - before; got != 2 {
		t.Fatalf("%d requests passed after the interval, want 2 (the throttled one asked late)", got)
	}
}
