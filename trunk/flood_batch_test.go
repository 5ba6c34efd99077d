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
// a every 5 ms for 0.6 s) reaches b, two hops away, whole, in far fewer
// datagrams when records are batched (the default) than one by one
// (FloodBatch negative), and late by at most a batch interval per hop.
func TestFloodBatch(t *testing.T) {
	const rooms = 120
	storm := func(batch time.Duration) (datagrams uint64, lastSeen time.Duration) {
		n := vnetTuned(t, map[string]route.Role{"a": route.Access, "b": route.Access, "f": route.Forwarding},
			[][2]string{{"a", "f"}, {"f", "b"}}, netsim.LinkConfig{}, func(c *trunk.Config) { c.FloodBatch = batch })
		start := n.Elapsed()
		for i := range rooms {
			n.At(start+time.Duration(i)*5*time.Millisecond, func() {
				must(t, n.Join("a", sim.User{ID: fmt.Sprint("u", i), Room: fmt.Sprint("r", i)}))
			})
		}
		before := n.SimStats().Datagrams
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
		return n.SimStats().Datagrams - before, n.Elapsed() - start
	}
	oneByOne, tOne := storm(-1)
	batched, tBatched := storm(0)
	t.Logf("datagrams one by one %d (all seen after %v), batched %d (after %v)", oneByOne, tOne, batched, tBatched)
	if batched*2 > oneByOne {
		t.Errorf("batched flooding sent %d datagrams, one by one %d: want at most half", batched, oneByOne)
	}
	// The last join is at 595 ms; a record crosses two 20 ms hops, each
	// of which may hold it up to 50 ms, plus the media clock's 10 ms.
	if tBatched > tOne+2*50*time.Millisecond+20*time.Millisecond {
		t.Errorf("batched: the last room reached b after %v, one by one after %v", tBatched, tOne)
	}
}
