package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// TestExpiredVideoAsksKeyframe: a meeting's video packet that expires on
// a trunk can never be repaired downstream, so the receiving node asks the
// publisher's node for a key frame as soon as QRTP reports the expiry (it
// used to wait for a subscriber's NACK to go unanswered 600 ms). Audio
// expiries ask nothing.
func TestExpiredVideoAsksKeyframe(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access}, [][2]string{{"a", "b"}},
		netsim.LinkConfig{Delay: 50 * time.Millisecond})
	c := count(n)
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Mode: "meeting", Publish: []sim.TrackSpec{video, audio}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Mode: "meeting", Watch: true, Layer: 0}))
	v := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-v"}
	if !n.RunUntil(5*time.Second, func() bool { return c.get("b", v, 0) > 50 }) {
		t.Fatalf("bob got %d video packets", c.get("b", v, 0))
	}
	n.RunFor(time.Second) // the join's key frame requests are behind us
	kf := n.M.Keyframes()
	expired := func() uint64 {
		var e uint64
		for _, node := range []string{"a", "b"} {
			for _, tk := range n.Node(node).Core.Status(n.Now()).Trunks {
				e += tk.MessagesExpired
			}
		}
		return e
	}
	e0 := expired()
	// A 400 ms outage: the video sent meanwhile misses its deadline.
	must(t, n.SetLink("a", "b", netsim.LinkConfig{Delay: 50 * time.Millisecond, Loss: netsim.Bernoulli(1)}))
	n.RunFor(400 * time.Millisecond)
	must(t, n.SetLink("a", "b", netsim.LinkConfig{Delay: 50 * time.Millisecond}))
	n.RunFor(time.Second)
	if expired() == e0 {
		t.Fatal("no message expired in a 400 ms outage; the test's premise failed")
	}
	if n.M.Keyframes() == kf {
		t.Fatalf("%d messages expired between a and b and no key frame request reached a", expired()-e0)
	}
	t.Logf("%d messages expired between a and b, %d key frame requests", expired()-e0, n.M.Keyframes()-kf)
}

// TestFECFollowsRTT: a meeting trunk's FEC is sized for the trunk's
// current RTT. It used to be sized with the RTT when the media stream
// opened: when the RTT then rose by a few tens of milliseconds (a node
// starved of CPU answers late), QRTP judged that no repair could arrive in
// time and turned FEC off on a 20 % loss trunk.
func TestFECFollowsRTT(t *testing.T) {
	lossy := func(delay time.Duration) netsim.LinkConfig {
		return netsim.LinkConfig{Delay: delay, Loss: netsim.Bernoulli(0.2)}
	}
	n := vnet(t, map[string]route.Role{"a": route.Access, "b": route.Access}, [][2]string{{"a", "b"}}, lossy(50*time.Millisecond))
	c := count(n)
	must(t, n.Join("a", sim.User{ID: "alice", Room: "r", Mode: "meeting", Publish: []sim.TrackSpec{video}}))
	must(t, n.Join("b", sim.User{ID: "bob", Room: "r", Mode: "meeting", Watch: true, Layer: 0}))
	v := trunk.TrackRef{Origin: "a", Room: "r", ID: "alice-v"}
	fecK := func() int {
		for _, tk := range n.Node("a").Core.Status(n.Now()).Trunks {
			if tk.Peer == "b" {
				return tk.FECK
			}
		}
		return -1
	}
	if !n.RunUntil(5*time.Second, func() bool { return c.get("b", v, 0) > 50 && fecK() > 0 }) {
		t.Fatalf("no FEC on a 20%% loss trunk at 100 ms RTT (K=%d, %d packets)", fecK(), c.get("b", v, 0))
	}
	must(t, n.SetLink("a", "b", lossy(80*time.Millisecond)))
	n.RunFor(4 * time.Second)
	off := 0
	for range 20 {
		n.RunFor(100 * time.Millisecond)
		if fecK() == 0 {
			off++
		}
	}
	if off > 0 {
		t.Fatalf("FEC off in %d of 20 samples after the RTT rose from 100 to 160 ms at 20%% loss", off)
	}
}
