package trunk

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

func TestLSDBSequenceAndExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newLSDB(4 * time.Second)
	if !d.update(now, LinkState{Origin: "a", Seq: 5}) {
		t.Fatal("first record refused")
	}
	if d.update(now, LinkState{Origin: "a", Seq: 5}) || d.update(now, LinkState{Origin: "a", Seq: 4}) {
		t.Fatal("old or repeated record accepted")
	}
	if !d.update(now.Add(time.Second), LinkState{Origin: "a", Seq: 6}) {
		t.Fatal("newer record refused")
	}
	d.update(now, LinkState{Origin: "self", Seq: 1})
	alive := func(o string) bool { return o == "self" }
	if gone := d.expire(now.Add(5*time.Second), alive); len(gone) != 0 {
		t.Fatalf("expired early: %v", gone)
	}
	d.update(now, LinkState{Origin: "neighbour", Seq: 1})
	if gone := d.expire(now.Add(time.Hour), func(o string) bool { return o != "a" }); len(gone) != 1 || gone[0] != "a" {
		t.Fatalf("expired %v, want only a (the others are alive)", gone)
	}
	d.update(now, LinkState{Origin: "a", Seq: 7})
	gone := d.expire(now.Add(6*time.Second), alive)
	if len(gone) != 2 || gone[0] != "a" || gone[1] != "neighbour" {
		t.Fatalf("expired %v, want [a neighbour]", gone)
	}
	if _, ok := d.get("self"); !ok {
		t.Fatal("own record expired")
	}
}

// TestGraphTrunkDownOnEitherSide: a trunk reported down by one end is not
// used even while the other end's (stale) record says up; this is how a
// failed trunk or node is routed around before its records expire.
func TestGraphTrunkDownOnEitherSide(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newLSDB(time.Minute)
	ms := int64(1000)
	link := func(peer string, up bool, rtt int64) LinkMetric {
		return LinkMetric{Peer: peer, Up: up, RTTMicros: rtt * ms}
	}
	d.update(now, LinkState{Origin: "a", Seq: 1, Role: "access", Links: []LinkMetric{link("f1", true, 20), link("f2", true, 40)}})
	d.update(now, LinkState{Origin: "b", Seq: 1, Role: "access", Links: []LinkMetric{link("f1", true, 20), link("f2", true, 40)}})
	d.update(now, LinkState{Origin: "f1", Seq: 1, Role: "forwarding", Links: []LinkMetric{link("a", true, 20), link("b", true, 20)}})
	d.update(now, LinkState{Origin: "f2", Seq: 1, Role: "forwarding", Links: []LinkMetric{link("a", true, 40), link("b", true, 40)}})
	path := func() []string {
		p, _, _ := d.graph(route.Costs{}).Path(route.Meeting, "a", "b")
		return p
	}
	if p := path(); len(p) != 3 || p[1] != "f1" {
		t.Fatalf("path %v, want through f1", p)
	}
	// b notices its trunk to f1 is gone; f1 (failed) still claims it is up.
	d.update(now, LinkState{Origin: "b", Seq: 2, Role: "access", Links: []LinkMetric{link("f1", false, 0), link("f2", true, 40)}})
	if p := path(); len(p) != 3 || p[1] != "f2" {
		t.Fatalf("after f1–b failed: path %v, want through f2", p)
	}
}

// TestPlannerReplansOnTrunkFailure drives the planner the way the trunk
// does: hysteresis keeps a route while it is merely worse, and a failed
// trunk moves it at once.
func TestPlannerReplansOnTrunkFailure(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newLSDB(time.Minute)
	set := func(seq uint64, f1rtt int64, f1up bool) {
		for _, o := range []string{"a", "b"} {
			d.update(now, LinkState{Origin: o, Seq: seq, Role: "access", Links: []LinkMetric{
				{Peer: "f1", Up: f1up, RTTMicros: f1rtt * 1000}, {Peer: "f2", Up: true, RTTMicros: 50_000}}})
		}
		for _, f := range []string{"f1", "f2"} {
			rtt, up := int64(50), true
			if f == "f1" {
				rtt, up = f1rtt, f1up
			}
			d.update(now, LinkState{Origin: f, Seq: seq, Role: "forwarding", Links: []LinkMetric{
				{Peer: "a", Up: up, RTTMicros: rtt * 1000}, {Peer: "b", Up: up, RTTMicros: rtt * 1000}}})
		}
	}
	p := route.NewPlanner(route.Hysteresis{})
	k := route.Key{Source: "a", Sink: "b", Mode: route.Meeting}
	set(1, 20, true)
	r, _, ok := p.Plan(now, d.graph(route.Costs{}), k)
	if !ok || r.Upstream("b") != "f1" {
		t.Fatalf("initial route %v", r.Path)
	}
	set(2, 55, true) // f1 slightly worse than f2: stay (hysteresis)
	if r, changed, _ := p.Plan(now.Add(10*time.Second), d.graph(route.Costs{}), k); changed || r.Upstream("b") != "f1" {
		t.Fatalf("route flapped to %v", r.Path)
	}
	set(3, 55, false) // f1's trunks fail: move now
	r, changed, ok := p.Plan(now.Add(10*time.Second), d.graph(route.Costs{}), k)
	if !ok || !changed || r.Upstream("b") != "f2" {
		t.Fatalf("after failure route %v changed=%v", r.Path, changed)
	}
}
