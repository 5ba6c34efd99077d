package route

import (
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

// topology: two regions, each with access nodes, joined by forwarding nodes.
//
//	a1 ---- f1 ---- f2 ---- b1
//	 \______________________/   (direct a1-b1 trunk)
//	a2 ---- f1       f2 ---- b2
func topology() ([]Node, []Link) {
	nodes := []Node{
		{Name: "a1", Role: Access}, {Name: "a2", Role: Access},
		{Name: "b1", Role: Access}, {Name: "b2", Role: Access},
		{Name: "f1", Role: Forwarding}, {Name: "f2", Role: Forwarding},
	}
	var links []Link
	both := func(a, b string, rtt time.Duration, loss float64) {
		links = append(links, Link{From: a, To: b, RTT: rtt, Loss: loss}, Link{From: b, To: a, RTT: rtt, Loss: loss})
	}
	both("a1", "f1", 10*ms, 0)
	both("a2", "f1", 10*ms, 0)
	both("f1", "f2", 100*ms, 0)
	both("f2", "b1", 10*ms, 0)
	both("f2", "b2", 10*ms, 0)
	both("a1", "b1", 110*ms, 0)
	return nodes, links
}

func TestPathTable(t *testing.T) {
	nodes, links := topology()
	tests := []struct {
		name     string
		mode     Mode
		src, dst string
		mutate   func([]Node, []Link)
		want     []string
	}{
		{name: "meeting takes the cheaper direct trunk", mode: Meeting, src: "a1", dst: "b1",
			want: []string{"a1", "b1"}},
		{name: "live avoids direct access-to-access", mode: Live, src: "a1", dst: "b1",
			want: []string{"a1", "f1", "f2", "b1"}},
		{name: "meeting routes around a lossy direct trunk", mode: Meeting, src: "a1", dst: "b1",
			mutate: func(_ []Node, l []Link) { setLink(l, "a1", "b1", func(x *Link) { x.Loss = 0.5 }) },
			want:   []string{"a1", "f1", "f2", "b1"}},
		{name: "meeting never transits a down node", mode: Meeting, src: "a2", dst: "b2",
			mutate: func(n []Node, _ []Link) { setNode(n, "f2", func(x *Node) { x.Down = true }) },
			want:   nil},
		{name: "meeting may transit an access node", mode: Meeting, src: "a2", dst: "b1",
			mutate: func(_ []Node, l []Link) { setLink(l, "f1", "f2", func(x *Link) { x.Down = true }) },
			want:   []string{"a2", "f1", "a1", "b1"}},
		{name: "live never transits an access node, falls back to none", mode: Live, src: "a2", dst: "b1",
			mutate: func(_ []Node, l []Link) { setLink(l, "f1", "f2", func(x *Link) { x.Down = true }) },
			want:   nil},
		{name: "live falls back to the direct trunk when the backbone is gone", mode: Live, src: "a1", dst: "b1",
			mutate: func(_ []Node, l []Link) { setLink(l, "f1", "f2", func(x *Link) { x.Down = true }) },
			want:   []string{"a1", "b1"}},
		{name: "an overloaded forwarding node is not transit", mode: Meeting, src: "a2", dst: "b2",
			mutate: func(n []Node, _ []Link) { setNode(n, "f1", func(x *Node) { x.Load = 0.99 }) },
			want:   nil},
		{name: "same node", mode: Meeting, src: "a1", dst: "a1", want: []string{"a1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := slices.Clone(nodes)
			l := slices.Clone(links)
			if tc.mutate != nil {
				tc.mutate(n, l)
			}
			g := NewGraph(n, l, Costs{})
			got, _, ok := g.Path(tc.mode, tc.src, tc.dst)
			if tc.want == nil {
				if ok {
					t.Fatalf("got path %v, want none", got)
				}
				return
			}
			if !ok || !slices.Equal(got, tc.want) {
				t.Fatalf("path %v (ok=%v), want %v", got, ok, tc.want)
			}
		})
	}
}

func TestLiveTreeCarriesOneCopyPerLink(t *testing.T) {
	nodes, links := topology()
	g := NewGraph(nodes, links, Costs{})
	var routes []Route
	for _, sink := range []string{"a2", "b1", "b2"} {
		p, c, ok := g.Path(Live, "a1", sink)
		if !ok {
			t.Fatalf("no live path to %s", sink)
		}
		routes = append(routes, Route{Path: p, Cost: c})
	}
	parent := Tree(routes)
	want := map[string]string{"f1": "a1", "a2": "f1", "f2": "f1", "b1": "f2", "b2": "f2"}
	if len(parent) != len(want) {
		t.Fatalf("tree %v, want %v", parent, want)
	}
	for k, v := range want {
		if parent[k] != v {
			t.Fatalf("tree %v, want %v", parent, want)
		}
	}
	// Each route's hops agree with the tree: no node has two parents.
	for _, r := range routes {
		for i := 1; i < len(r.Path); i++ {
			if parent[r.Path[i]] != r.Path[i-1] {
				t.Fatalf("route %v disagrees with tree %v", r.Path, parent)
			}
		}
	}
}

func TestPlannerHysteresisAndFailover(t *testing.T) {
	nodes, links := topology()
	t0 := time.Unix(1_700_000_000, 0)
	p := NewPlanner(Hysteresis{Ratio: 0.8, MinGain: 10 * ms, HoldDown: 3 * time.Second})
	k := Key{Source: "a1", Sink: "b1", Mode: Meeting}

	plan := func(at time.Duration, mutate func([]Node, []Link)) (Route, bool) {
		t.Helper()
		n, l := slices.Clone(nodes), slices.Clone(links)
		if mutate != nil {
			mutate(n, l)
		}
		r, changed, ok := p.Plan(t0.Add(at), NewGraph(n, l, Costs{}), k)
		if !ok {
			t.Fatalf("no route at %v", at)
		}
		return r, changed
	}
	direct := []string{"a1", "b1"}
	backbone := []string{"a1", "f1", "f2", "b1"}

	r, changed := plan(0, nil)
	if !changed || !slices.Equal(r.Path, direct) {
		t.Fatalf("first plan %v changed=%v, want %v", r.Path, changed, direct)
	}
	// The backbone becomes slightly better (direct RTT 110→140 vs backbone 90 on f1-f2):
	// not enough to switch.
	slightly := func(_ []Node, l []Link) {
		setLink(l, "a1", "b1", func(x *Link) { x.RTT = 140 * ms })
		setLink(l, "f1", "f2", func(x *Link) { x.RTT = 90 * ms })
	}
	if r, changed = plan(time.Second, slightly); changed || !slices.Equal(r.Path, direct) {
		t.Fatalf("switched on a small gain: %v", r.Path)
	}
	// The direct trunk degrades a lot: better path, but held down for 3 s.
	degraded := func(_ []Node, l []Link) { setLink(l, "a1", "b1", func(x *Link) { x.RTT = 400 * ms }) }
	if r, changed = plan(2*time.Second, degraded); changed || !slices.Equal(r.Path, direct) {
		t.Fatalf("switched before hold-down: %v", r.Path)
	}
	if r, changed = plan(4*time.Second, degraded); changed {
		t.Fatalf("switched at 2 s of 3 s hold-down: %v", r.Path)
	}
	if r, changed = plan(5*time.Second, degraded); !changed || !slices.Equal(r.Path, backbone) {
		t.Fatalf("after hold-down got %v changed=%v, want %v", r.Path, changed, backbone)
	}
	// A flap back for less than the hold-down does not switch back.
	if r, changed = plan(6*time.Second, nil); changed {
		t.Fatalf("flapped back at once: %v", r.Path)
	}
	// Failure of f2: immediate switch, no hold-down.
	f2down := func(n []Node, _ []Link) { setNode(n, "f2", func(x *Node) { x.Down = true }) }
	if r, changed = plan(6500*time.Millisecond, f2down); !changed || !slices.Equal(r.Path, direct) {
		t.Fatalf("on failure got %v changed=%v, want %v at once", r.Path, changed, direct)
	}
	if r.NextHop("a1") != "b1" || r.Upstream("b1") != "a1" || r.NextHop("b1") != "" {
		t.Fatalf("hop helpers wrong on %v", r.Path)
	}
}

func TestPlannerNoPathForgets(t *testing.T) {
	nodes, links := topology()
	p := NewPlanner(Hysteresis{})
	k := Key{Source: "a1", Sink: "b2", Mode: Live}
	now := time.Unix(0, 0)
	if _, _, ok := p.Plan(now, NewGraph(nodes, links, Costs{}), k); !ok {
		t.Fatal("want a route")
	}
	n := slices.Clone(nodes)
	setNode(n, "f2", func(x *Node) { x.Down = true })
	if _, changed, ok := p.Plan(now, NewGraph(n, links, Costs{}), k); ok || !changed {
		t.Fatalf("want no route and a change, got ok=%v changed=%v", ok, changed)
	}
}

func setLink(ls []Link, from, to string, f func(*Link)) {
	for i := range ls {
		if ls[i].From == from && ls[i].To == to {
			f(&ls[i])
		}
	}
}

func setNode(ns []Node, name string, f func(*Node)) {
	for i := range ns {
		if ns[i].Name == name {
			f(&ns[i])
		}
	}
}
