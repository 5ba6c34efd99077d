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

// TestFloodBatch: a storm of room changes (a user joining a new room on
// a every 5 ms for 0.6 s) reaches b, two hops away over two forwarding
// nodes, whole, in far fewer datagrams when records are batched (the
// default) than one by one (FloodBatch negative), late by at most a batch
// interval per hop; and b, which hears every record from both uplinks,
// does not pass back to one what it heard from the other while it waited.
func TestFloodBatch(t *testing.T) {
	const rooms = 120
	storm := func(batch time.Duration) (datagrams, relayedByB uint64, lastSeen time.Duration) {
		n := vnetTuned(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding, "g": route.Forwarding},
			[][2]string{{"a", "f"}, {"a", "g"}, {"f", "g"}, {"f", "b"}, {"g", "b"}}, netsim.LinkConfig{},
			func(c *trunk.Config) {
				c.FloodBatch = batch
				if c.Name == "b" && batch >= 0 {
					// A longer interval on b: most copies from its second
					// uplink arrive while the first copy waits.
					c.FloodBatch = 200 * time.Millisecond
				}
			})
		start := n.Elapsed()
		for i := range rooms {
			n.At(start+time.Duration(i)*5*time.Millisecond, func() {
				must(t, n.Join("a", sim.User{ID: fmt.Sprint("u", i), Room: fmt.Sprint("r", i)}))
			})
		}
		before, bBefore := n.SimStats().Datagrams, n.Node("b").Counters().Control["room"].Msgs
		seen := func() bool {
			for i := range rooms {
				if len(n.Node("b").Core.RemoteParts(fmt.Sprint("r", i))) == 0 {
					return false
				}
			}
			return true
		}
		if !n.RunUntil(5*time.Second, seen) {
			t.Fatalf("batch %v: b does not see all %d rooms of a after 5 s", batch, rooms)
		}
		n.RunFor(time.Second) // the last copies
		return n.SimStats().Datagrams - before, n.Node("b").Counters().Control["room"].Msgs - bBefore, n.Elapsed() - start
	}
	oneByOne, relayedOne, tOne := storm(-1)
	batched, relayedBatched, tBatched := storm(50 * time.Millisecond)
	t.Logf("one by one: %d datagrams, b relayed %d records, all seen after %v; batched: %d, %d, %v",
		oneByOne, relayedOne, tOne, batched, relayedBatched, tBatched)
	if batched*2 > oneByOne {
		t.Errorf("batched flooding sent %d datagrams, one by one %d: want at most half", batched, oneByOne)
	}
	if relayedBatched*2 > relayedOne {
		t.Errorf("b passed %d of a's records back to an uplink, %d one by one: want at most half", relayedBatched, relayedOne)
	}
	// The last join is at 595 ms; a record crosses two 20 ms hops, each
	// of which may hold it up to 50 ms (b passes it on, it does not hold
	// it up for itself), plus the media clock's 10 ms.
	tOne, tBatched = tOne-time.Second, tBatched-time.Second
	if tBatched > tOne+2*50*time.Millisecond+20*time.Millisecond {
		t.Errorf("batched: the last room reached b after %v, one by one after %v", tBatched, tOne)
	}
}
