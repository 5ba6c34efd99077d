package scheduler

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// Coordinates of the test regions: Frankfurt, Ashburn, Singapore.
var (
	fra = Coord{Lat: 50.1, Lon: 8.7}
	ash = Coord{Lat: 39.0, Lon: -77.5}
	sin = Coord{Lat: 1.35, Lon: 103.8}
)

func mk(name, region string, c Coord, mods ...func(*Node)) Node {
	n := Node{Name: name, Region: region, Access: true, URL: "http://" + name + "/", Coord: c, HasCoord: true,
		Linked: true, Heard: t0, Capacity: 100}
	for _, m := range mods {
		m(&n)
	}
	return n
}

func users(u int) func(*Node) { return func(n *Node) { n.Users = u } }

var (
	draining   = func(n *Node) { n.Draining = true }
	unlinked   = func(n *Node) { n.Linked = false }
	stale      = func(n *Node) { n.Heard = t0.Add(-5 * time.Second) }
	forwarding = func(n *Node) { n.Access = false }
	noCoord    = func(n *Node) { n.HasCoord = false; n.Coord = Coord{} }
)

func threeRegions(mods map[string][]func(*Node)) []Node {
	return []Node{
		mk("eu-1", "eu", fra, mods["eu-1"]...),
		mk("eu-2", "eu", Coord{Lat: 48.9, Lon: 2.4}, mods["eu-2"]...), // Paris
		mk("us-1", "us", ash, mods["us-1"]...),
		mk("ap-1", "ap", sin, mods["ap-1"]...),
	}
}

// fakeHistory answers fixed qualities by scope.
type fakeHistory map[string]map[string]Quality

func (f fakeHistory) Quality(s Scope) map[string]Quality {
	if s.Prefix.IsValid() {
		return f[s.Prefix.String()]
	}
	return f["region:"+s.Region]
}

func TestPlace(t *testing.T) {
	user := netip.MustParseAddr("192.0.2.77")
	badOnEU1 := fakeHistory{"192.0.2.0/24": {"eu-1": {Calls: 60, StallRate: 0.4, LatencyMs: 15}}}
	for _, tc := range []struct {
		name       string
		nodes      []Node
		self       string
		room       map[string]int
		req        Request
		history    History
		want       string
		wantReason string
		wantErr    error
	}{
		{name: "nearest region by hint", nodes: threeRegions(nil), req: Request{Hint: "us"}, want: "us-1", wantReason: FromHint},
		{name: "nearest region by measured RTT", nodes: threeRegions(nil),
			req: Request{Hint: "ap", RTTs: map[string]float64{"eu-1": 95, "us-1": 12, "ap-1": 210}}, want: "us-1", wantReason: FromRTT},
		{name: "probes that look alike leave it to the hint", nodes: threeRegions(nil),
			req: Request{Hint: "ap", RTTs: map[string]float64{"eu-1": 1.1, "us-1": 0.9, "ap-1": 1.3}}, want: "ap-1", wantReason: FromHint},
		{name: "no evidence: the entry node's region", nodes: threeRegions(nil), self: "us-1", want: "us-1", wantReason: FromEntry},
		{name: "network table", nodes: threeRegions(nil), req: Request{Addr: netip.MustParseAddr("10.9.8.7"), Hint: "eu"}, want: "ap-1", wantReason: FromNetwork},
		{name: "affinity beats distance", nodes: threeRegions(nil), room: map[string]int{"eu-1": 2},
			req: Request{RTTs: map[string]float64{"eu-1": 19, "eu-2": 8, "us-1": 90}}, want: "eu-1", wantReason: "affinity"},
		{name: "affinity does not pull across regions", nodes: threeRegions(nil), room: map[string]int{"us-1": 3},
			req: Request{Hint: "eu"}, want: "eu-1"},
		{name: "single policy keeps the room on its node", nodes: threeRegions(nil), room: map[string]int{"us-1": 3},
			req: Request{Hint: "eu", Policy: Single}, want: "us-1"},
		{name: "overload spills over", nodes: threeRegions(map[string][]func(*Node){"eu-1": {users(100)}}), room: map[string]int{"eu-1": 5},
			req: Request{Hint: "eu"}, want: "eu-2"},
		{name: "draining is excluded", nodes: threeRegions(map[string][]func(*Node){"eu-1": {draining}}),
			req: Request{RTTs: map[string]float64{"eu-1": 5, "eu-2": 9, "us-1": 90}}, want: "eu-2"},
		{name: "a node not heard from is excluded", nodes: threeRegions(map[string][]func(*Node){"eu-1": {stale}, "eu-2": {unlinked}}),
			req: Request{Hint: "eu"}, want: "us-1"},
		{name: "forwarding nodes are not candidates", nodes: append(threeRegions(nil), mk("fwd-1", "eu", fra, forwarding)),
			req: Request{Pin: "fwd-1"}, wantErr: ErrPinned},
		{name: "history moves the choice", nodes: threeRegions(nil), history: badOnEU1,
			req: Request{Addr: user, RTTs: map[string]float64{"eu-1": 9, "eu-2": 16, "us-1": 90}}, want: "eu-2", wantReason: "history"},
		{name: "history is ignored by the geography-only policy", nodes: threeRegions(nil), history: badOnEU1,
			req: Request{Addr: user, RTTs: map[string]float64{"eu-1": 9, "eu-2": 16, "us-1": 90}, Policy: Nearest}, want: "eu-1"},
		{name: "history of the region when the network has none", nodes: threeRegions(nil),
			history: fakeHistory{"region:eu": {"eu-1": {Calls: 500, JoinFailRate: 0.3}}}, req: Request{Addr: user, Hint: "eu"}, want: "eu-2"},
		{name: "a few bad calls shift little", nodes: threeRegions(nil),
			history: fakeHistory{"192.0.2.0/24": {"eu-1": {Calls: 1, StallRate: 1}}},
			req:     Request{Addr: user, RTTs: map[string]float64{"eu-1": 9, "eu-2": 30, "us-1": 90}}, want: "eu-1"},
		{name: "pinned", nodes: threeRegions(nil), req: Request{Hint: "eu", Pin: "ap-1"}, want: "ap-1", wantReason: "pinned"},
		{name: "pinned to a draining node", nodes: threeRegions(map[string][]func(*Node){"ap-1": {draining}}), req: Request{Pin: "ap-1"}, wantErr: ErrPinned},
		{name: "pinned to nobody", nodes: threeRegions(nil), req: Request{Pin: "mars-1"}, wantErr: ErrPinned},
		{name: "nothing healthy", nodes: []Node{mk("eu-1", "eu", fra, draining), mk("us-1", "us", ash, unlinked)}, wantErr: ErrNoHealthyNode},
		{name: "no node at all", wantErr: ErrNoHealthyNode},
		{name: "regions without coordinates", nodes: []Node{mk("eu-1", "eu", fra, noCoord), mk("us-1", "us", ash, noCoord)},
			req: Request{Hint: "us"}, want: "us-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Networks: []NetworkRegion{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Region: "us"},
				{Prefix: netip.MustParsePrefix("10.9.0.0/16"), Region: "ap"}}}, Options{History: tc.history})
			self := tc.self
			if self == "" {
				self = "eu-1"
			}
			tc.req.Room, tc.req.Identity = "r", "alice"
			d, err := s.Place(t0, tc.req, View{Self: self, Nodes: tc.nodes, Room: tc.room})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Chosen().Node; got != tc.want {
				t.Fatalf("chose %s, want %s\n%s", got, tc.want, dump(d))
			}
			if tc.wantReason != "" && d.Reason != tc.wantReason {
				t.Errorf("reason %q, want %q\n%s", d.Reason, tc.wantReason, dump(d))
			}
			if len(d.Reasons) == 0 || !strings.HasPrefix(d.Summary(), tc.want+" · ") {
				t.Errorf("summary %q", d.Summary())
			}
		})
	}
}

func dump(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "location %+v reason %s %v\n", d.Location, d.Reason, d.Reasons)
	for _, c := range d.Ranked {
		fmt.Fprintf(&b, "  %+v\n", c)
	}
	for _, e := range d.Excluded {
		fmt.Fprintf(&b, "  excluded %s: %s\n", e.Node, e.Why)
	}
	return b.String()
}

// TestExplanations: the words match the example of the issue.
func TestExplanations(t *testing.T) {
	s := New(Config{}, Options{})
	d, err := s.Place(t0, Request{Room: "r", Identity: "bob", RTTs: map[string]float64{"eu-1": 12, "eu-2": 15, "us-1": 95}},
		View{Self: "us-1", Nodes: threeRegions(nil), Room: map[string]int{"eu-1": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Summary(), "eu-1 · 12 ms · same room, same region, fastest probe"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if len(d.Probes) != 3 || d.Probes[0] != "eu-1" {
		t.Errorf("probes %v: one per region, best first", d.Probes)
	}
}

// TestStableTies: equal nodes are ranked by name, and one user asking
// again gets the same node, however often it asks.
func TestStableTies(t *testing.T) {
	nodes := []Node{mk("b", "eu", fra), mk("a", "eu", fra), mk("c", "eu", fra)}
	s := New(Config{}, Options{})
	var first string
	for i := range 20 {
		d, err := s.Place(t0.Add(time.Duration(i)*time.Millisecond), Request{Room: "r", Identity: "same"}, View{Self: "a", Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = d.Chosen().Node
			for j := 2; j < len(d.Ranked); j++ {
				if d.Ranked[j-1].Node > d.Ranked[j].Node && d.Ranked[j-1].Score == d.Ranked[j].Score {
					t.Fatalf("ties not ranked by name: %s", dump(d))
				}
			}
		}
		if d.Chosen().Node != first {
			t.Fatalf("ask %d: %s, first %s", i, d.Chosen().Node, first)
		}
	}
	other := New(Config{}, Options{})
	d, _ := other.Place(t0, Request{Room: "r", Identity: "same"}, View{Self: "c", Nodes: nodes})
	if d.Chosen().Node != first {
		t.Errorf("another scheduler chose %s, first %s", d.Chosen().Node, first)
	}
}

// TestBurstSpread: many joins at once, while the announced load has not
// moved yet. One scheduler spreads them evenly over near-equal nodes
// (its own assignments count as load); several schedulers with the same
// stale view, each counting only its own, still do not herd onto the node
// that looked emptiest.
func TestBurstSpread(t *testing.T) {
	nodes := []Node{mk("eu-1", "eu", fra, users(10)), mk("eu-2", "eu", fra, users(10)), mk("eu-3", "eu", fra), mk("us-1", "us", ash)}
	for _, n := range []*Node{&nodes[0], &nodes[1], &nodes[2]} {
		n.Capacity = 1000
	}
	count := func(schedulers int, joins int) map[string]int {
		var ss []*Scheduler
		for range schedulers {
			ss = append(ss, New(Config{}, Options{}))
		}
		got := map[string]int{}
		for i := range joins {
			d, err := ss[i%schedulers].Place(t0.Add(time.Duration(i)*time.Millisecond),
				Request{Room: fmt.Sprintf("room-%d", i), Identity: "u", Hint: "eu"}, View{Self: "eu-1", Nodes: nodes})
			if err != nil {
				t.Fatal(err)
			}
			got[d.Chosen().Node]++
		}
		return got
	}
	one := count(1, 300)
	if one["us-1"] != 0 {
		t.Errorf("joins spilled to another region: %v", one)
	}
	// Final users: 10+n1, 10+n2, n3: even within a few.
	if lo, hi := min(10+one["eu-1"], 10+one["eu-2"], one["eu-3"]), max(10+one["eu-1"], 10+one["eu-2"], one["eu-3"]); hi-lo > 3 {
		t.Errorf("one scheduler: %v, users from %d to %d", one, lo, hi)
	}
	four := count(4, 300)
	if four["eu-3"] > 300*6/10 || four["eu-1"] < 300/5 || four["eu-2"] < 300/5 {
		t.Errorf("four schedulers herd onto the emptiest node: %v", four)
	}
	t.Logf("one scheduler %v, four %v", one, four)
}

// TestRecentWindow: assignments count as load only for RecentWindow, and
// their number is bounded.
func TestRecentWindow(t *testing.T) {
	nodes := []Node{mk("eu-1", "eu", fra), mk("eu-2", "eu", fra)}
	nodes[0].Capacity, nodes[1].Capacity = 10, 10
	s := New(Config{MaxRecent: 50}, Options{})
	for i := range 10 {
		if _, err := s.Place(t0, Request{Room: fmt.Sprint("r", i), Identity: fmt.Sprint(i)}, View{Self: "eu-1", Nodes: nodes}); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	n1, n2 := s.recent.perNode["eu-1"], s.recent.perNode["eu-2"]
	s.mu.Unlock()
	if n1 != 5 || n2 != 5 {
		t.Fatalf("recent %d/%d, want 5/5", n1, n2)
	}
	// Ten more users fill both nodes (capacity 10 each, announced 0).
	for i := 10; i < 20; i++ {
		if _, err := s.Place(t0, Request{Room: fmt.Sprint("r", i), Identity: fmt.Sprint(i)}, View{Self: "eu-1", Nodes: nodes}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Place(t0, Request{Room: "r", Identity: "x"}, View{Self: "eu-1", Nodes: nodes}); !errors.Is(err, ErrNoHealthyNode) {
		t.Fatalf("a full cluster: %v", err)
	}
	nodes[0].Heard, nodes[1].Heard = t0.Add(4*time.Second), t0.Add(4*time.Second)
	if _, err := s.Place(t0.Add(4*time.Second), Request{Room: "r", Identity: "x"}, View{Self: "eu-1", Nodes: nodes}); err != nil {
		t.Fatalf("after the window the announced load rules: %v", err)
	}
	for i := range 500 {
		_, _ = s.Place(t0.Add(5*time.Second), Request{Room: fmt.Sprint(i), Identity: "y"}, View{Self: "eu-1", Nodes: []Node{mk("a", "eu", fra, func(n *Node) { n.Capacity, n.Heard = 0, t0.Add(5*time.Second) })}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent.byUser) > 50 || len(s.recent.queue)-s.recent.head > 100 {
		t.Errorf("recent holds %d users, queue %d", len(s.recent.byUser), len(s.recent.queue)-s.recent.head)
	}
}

// TestPendingAffinity: two users of a new room asking the same scheduler
// at once land together, before any link state shows the room.
func TestPendingAffinity(t *testing.T) {
	nodes := []Node{mk("eu-1", "eu", fra), mk("eu-2", "eu", fra)}
	s := New(Config{}, Options{})
	var got []string
	for _, id := range []string{"ann", "bob", "cat", "dan"} {
		d, err := s.Place(t0, Request{Room: "new", Identity: id, Hint: "eu"}, View{Self: "eu-1", Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Chosen().Node)
	}
	for _, g := range got {
		if g != got[0] {
			t.Fatalf("one room split over %v", got)
		}
	}
}
