package trunk_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// Re-dial back-off, in virtual time: a peer that was up within the last
// minute is re-dialled at most about a second apart, so a restarted node's
// trunks come back within about a second and a half of its start however
// long it was away (up to that minute); a peer gone for longer is dialled
// at most RedialMax apart.

// trunkTo is node's view of its trunk to peer.
func trunkTo(n *sim.Network, node, peer string) trunk.TrunkStatus {
	for _, tk := range n.Node(node).Core.Status(n.Now()).Trunks {
		if tk.Peer == peer {
			return tk
		}
	}
	return trunk.TrunkStatus{}
}

// TestRedialRestartedPeerFast: a dials b (the smaller name dials). b is
// killed, stays away from 2 s to 45 s (30 values, so that its restart
// falls at every phase of a's dial cycle), and restarts; a's trunk to b
// must be up again within 2 s of the restart. Worst case: the Init gap
// (the re-dial back-off capped at 1 s plus a quarter of jitter after the
// handshake's last Init re-send), the stale Init's Retry and the new Init's
// round trips, and the hellos. With the back-off at 5 s and the idle
// timeout ending every dial after three Inits, it took up to 5.4 s
// here (14 of the 30 restarts over 2 s).
func TestRedialRestartedPeerFast(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Forwarding, "b": route.Forwarding}, [][2]string{{"a", "b"}}, netsim.LinkConfig{})
	var worst time.Duration
	for i := range 30 {
		away := 2*time.Second + time.Duration(i)*1470*time.Millisecond
		must(t, n.Kill("b"))
		n.RunFor(away)
		if trunkTo(n, "a", "b").Up {
			t.Fatalf("trunk a–b up %v after b was killed", away)
		}
		must(t, n.Restart("b"))
		start := n.Elapsed()
		if !n.RunUntil(10*time.Second, func() bool { return trunkTo(n, "a", "b").Up && trunkTo(n, "b", "a").Up }) {
			t.Fatalf("away %v: trunk a–b not up 10 s after b restarted", away)
		}
		back := n.Elapsed() - start
		worst = max(worst, back)
		if back > 2*time.Second {
			t.Errorf("away %v: trunk back %v after the restart, want at most 2 s", away, back)
		}
		n.RunFor(time.Second)
	}
	t.Logf("trunk back at most %v after a restart", worst)
}

// TestRedialLongGoneBacksOff: a peer away for more than a minute is no
// longer dialled every second or so: between 70 s and 130 s away, at most
// one dial per RedialMax (5 s) plus the handshake timeout (3 s).
func TestRedialLongGoneBacksOff(t *testing.T) {
	n := vnet(t, map[string]route.Role{"a": route.Forwarding, "b": route.Forwarding}, [][2]string{{"a", "b"}}, netsim.LinkConfig{})
	must(t, n.Kill("b"))
	n.RunFor(70 * time.Second)
	before := trunkTo(n, "a", "b").Connects
	n.RunFor(60 * time.Second)
	dials := trunkTo(n, "a", "b").Connects - before
	t.Logf("dials between 70 s and 130 s away: %d", dials)
	if dials < 5 || dials > 8 {
		t.Errorf("%d dials between 70 s and 130 s away, want 5–8 (one per 5 s back-off and 3 s handshake timeout)", dials)
	}
}
