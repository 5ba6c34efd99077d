package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

// The placement simulation: 10,000 synthetic users in 5 regions join
// rooms (mostly of their own region) on 20 access nodes, 4 per region,
// through one scheduler whose view lags like flooded link state does (the
// announced user counts refresh every second). Every user is located by
// GeoIP and probes one node per region. A synthetic history says that for
// some networks some nodes of their region serve badly (a bad peering: a
// third of the calls stall, a tenth of the joins fail); the history store
// knows 30 calls per network and node.
//
// It compares the share of users placed on a node with good history for
// their network, the RTT they get, and how evenly the load spreads, under
// the scheduler (auto), the scheduler without history, and geography only
// (nearest: no history, affinity or spreading). Run it with
//
//	go test -run TestPlacementSimulation -v ./scheduler
//
// (figures in docs/scheduling.md).

type simRegion struct {
	name  string
	at    Coord
	share float64 // of the users
}

var simRegions = []simRegion{
	{"eu", fra, 0.30}, {"us", ash, 0.30}, {"ap", sin, 0.20},
	{"sa", Coord{Lat: -23.5, Lon: -46.6}, 0.10}, {"oc", Coord{Lat: -33.9, Lon: 151.2}, 0.10},
}

const (
	simUsers       = 10000
	simNetworks    = 200 // per region, each a /24
	simNodeCap     = 700
	simRoomSize    = 4
	simBadShare    = 0.25 // of (network, node-in-its-region) pairs
	simJoinEvery   = 10 * time.Millisecond
	simAnnounceLag = time.Second
)

// simWorld is the ground truth.
type simWorld struct {
	nodes   []Node
	netAt   map[netip.Prefix]Coord
	netReg  map[netip.Prefix]string
	bad     map[[2]string]bool // (network, node) → serves badly
	history fakeHistory
}

func newSimWorld(seed uint64) *simWorld {
	rnd := rand.New(rand.NewPCG(seed, 7))
	w := &simWorld{netAt: map[netip.Prefix]Coord{}, netReg: map[netip.Prefix]string{}, bad: map[[2]string]bool{},
		history: fakeHistory{}}
	for _, r := range simRegions {
		for i := range 4 {
			c := Coord{Lat: r.at.Lat + 4*rnd.Float64() - 2, Lon: r.at.Lon + 4*rnd.Float64() - 2}
			n := mk(fmt.Sprintf("%s-%d", r.name, i+1), r.name, c)
			n.Capacity = simNodeCap
			w.nodes = append(w.nodes, n)
		}
	}
	for ri, r := range simRegions {
		for k := range simNetworks {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(ri), byte(k), 0}), 24)
			w.netAt[p] = Coord{Lat: r.at.Lat + 10*rnd.Float64() - 5, Lon: r.at.Lon + 10*rnd.Float64() - 5}
			w.netReg[p] = r.name
			q := map[string]Quality{}
			for _, n := range w.nodes {
				bad := n.Region == r.name && rnd.Float64() < simBadShare
				w.bad[[2]string{p.String(), n.Name}] = bad
				if n.Region != r.name {
					continue // nobody from here ever used it: no history
				}
				if bad {
					q[n.Name] = Quality{Calls: 30, StallRate: 0.33, JoinFailRate: 0.1}
				} else {
					q[n.Name] = Quality{Calls: 30, StallRate: 0.01}
				}
			}
			w.history[p.String()] = q
		}
	}
	return w
}

// Locate is the world's GeoIP.
func (w *simWorld) Locate(a netip.Addr) (Coord, bool) {
	p, _ := a.Prefix(24)
	c, ok := w.netAt[p]
	return c, ok
}

type simResult struct {
	name                      string
	goodShare, meanRTT, p95   float64
	maxUtil, minUtil, cvUtil  float64
	cvInRegion                float64 // mean over regions of the CV within the region
	roomSplit, outOfRegion    float64
	fullRefusals, assignments int
}

// run places every user with one policy and history on or off.
func (w *simWorld) run(name string, cfg Config, policy Policy, withHistory bool, seed uint64, users int) simResult {
	rnd := rand.New(rand.NewPCG(seed, 11))
	opts := Options{Geo: w}
	if withHistory {
		opts.History = w.history
	}
	s := New(cfg, opts)
	placed := map[string]int{}    // node → users (truth)
	announced := map[string]int{} // node → users, as last flooded
	rooms := map[string]map[string]int{}
	members := map[string][][2]string{} // room → (node, region) of each member
	roomRegion := map[string]string{}
	var roomNames []string
	res := simResult{name: name}
	var rtts []float64
	now := t0
	nextAnnounce := now
	splitPairs, samePairs := 0, 0
	for i := range users {
		now = now.Add(simJoinEvery)
		if !now.Before(nextAnnounce) {
			for k, v := range placed {
				announced[k] = v
			}
			nextAnnounce = now.Add(simAnnounceLag)
		}
		region := pickRegion(rnd)
		// A user joins an open room of its region, or (one in ten) any
		// room, or opens one.
		room := ""
		if len(roomNames) > 0 && rnd.Float64() < 0.75 {
			for range 8 {
				c := roomNames[rnd.IntN(len(roomNames))]
				if total(rooms[c]) < simRoomSize && (roomRegion[c] == region || rnd.Float64() < 0.1) {
					room = c
					break
				}
			}
		}
		if room == "" {
			room = fmt.Sprintf("room-%d", len(roomNames))
			roomNames = append(roomNames, room)
			rooms[room] = map[string]int{}
			roomRegion[room] = region
		}
		ri := regionIndex(region)
		netw := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(ri), byte(rnd.IntN(simNetworks)), 0}), 24)
		addr := netip.AddrFrom4([4]byte{10, byte(ri), netw.Addr().As4()[2], byte(1 + rnd.IntN(250))})
		view := make([]Node, len(w.nodes))
		copy(view, w.nodes)
		for k := range view {
			view[k].Users, view[k].Heard = announced[view[k].Name], now
		}
		req := Request{Room: room, Identity: fmt.Sprint("u", i), Addr: addr, Policy: policy}
		// The client probes the best node of each region first.
		first, err := s.Place(now, req, View{Self: view[0].Name, Nodes: view, Room: rooms[room]})
		if err != nil {
			res.fullRefusals++
			continue
		}
		req.RTTs = map[string]float64{}
		for _, p := range first.Probes {
			req.RTTs[p] = w.rtt(netw, p, rnd)
		}
		d, err := s.Place(now, req, View{Self: view[0].Name, Nodes: view, Room: rooms[room]})
		if err != nil {
			res.fullRefusals++
			continue
		}
		node := d.Chosen().Node
		for _, m := range members[room] {
			switch {
			case m[1] != region:
			case m[0] == node:
				samePairs++
			default:
				splitPairs++
			}
		}
		members[room] = append(members[room], [2]string{node, region})
		placed[node]++
		rooms[room][node]++
		res.assignments++
		if !w.bad[[2]string{netw.String(), node}] {
			res.goodShare++
		}
		if d.Chosen().Region != region {
			res.outOfRegion++
		}
		rtts = append(rtts, w.rtt(netw, node, nil))
	}
	res.goodShare /= float64(res.assignments)
	res.outOfRegion /= float64(res.assignments)
	res.roomSplit = float64(splitPairs) / float64(max(splitPairs+samePairs, 1))
	sort.Float64s(rtts)
	for _, r := range rtts {
		res.meanRTT += r / float64(len(rtts))
	}
	res.p95 = rtts[len(rtts)*95/100]
	res.minUtil = math.Inf(1)
	var sum, sq float64
	for _, n := range w.nodes {
		u := float64(placed[n.Name]) / float64(n.Capacity)
		res.maxUtil, res.minUtil = max(res.maxUtil, u), min(res.minUtil, u)
		sum += u
		sq += u * u
	}
	mean := sum / float64(len(w.nodes))
	res.cvUtil = math.Sqrt(sq/float64(len(w.nodes))-mean*mean) / mean
	for _, r := range simRegions {
		var us []float64
		for _, n := range w.nodes {
			if n.Region == r.name {
				us = append(us, float64(placed[n.Name])/float64(n.Capacity))
			}
		}
		res.cvInRegion += cv(us) / float64(len(simRegions))
	}
	return res
}

// cv is the coefficient of variation (0 when the mean is 0).
func cv(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	mean := sum / float64(len(xs))
	if mean == 0 {
		return 0
	}
	return math.Sqrt(max(sq/float64(len(xs))-mean*mean, 0)) / mean
}

// rtt is the true round trip from a network to a node: distance, with 10%
// noise on a probe (rnd non-nil).
func (w *simWorld) rtt(netw netip.Prefix, node string, rnd *rand.Rand) float64 {
	var at Coord
	for _, n := range w.nodes {
		if n.Name == node {
			at = n.Coord
		}
	}
	ms := rttFromDistance(distanceKm(w.netAt[netw], at))
	if rnd != nil {
		ms *= 0.9 + 0.2*rnd.Float64()
	}
	return ms
}

func pickRegion(rnd *rand.Rand) string {
	x := rnd.Float64()
	for _, r := range simRegions {
		if x < r.share {
			return r.name
		}
		x -= r.share
	}
	return simRegions[len(simRegions)-1].name
}

func regionIndex(name string) int {
	for i, r := range simRegions {
		if r.name == name {
			return i
		}
	}
	return -1
}

func total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// TestPlacementSimulation runs the simulation and checks what the
// scheduler is for: more users on nodes that serve their network well than
// geography alone achieves, at a small cost in RTT, with no node over
// capacity and rooms kept together.
func TestPlacementSimulation(t *testing.T) {
	w := newSimWorld(1)
	users := simUsers
	if raceEnabled {
		users = simUsers / 5
	}
	results := []simResult{
		w.run("scheduler (auto)", Config{}, Auto, true, 2, users),
		w.run("scheduler without history", Config{}, Auto, false, 2, users),
		w.run("geography only (nearest)", Config{}, Nearest, false, 2, users),
		w.run("auto, affinity_ms 40", Config{AffinityMs: 40}, Auto, true, 2, users),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-28s %9s %9s %8s %9s %9s %8s %8s %10s %12s %8s\n", "policy", "good-hist", "mean-rtt", "p95-rtt",
		"max-load", "min-load", "cv-load", "cv-in-rg", "room-split", "out-of-region", "refused")
	fmt.Fprintf(&b, "(good-hist: users on a node with good history for their network; room-split: pairs of same-region\nusers of a room on different nodes; load: users over capacity per node, cv its coefficient of variation\nover all nodes, cv-in-rg within each region, averaged)\n")
	for _, r := range results {
		fmt.Fprintf(&b, "%-28s %8.1f%% %7.1fms %6.1fms %8.0f%% %8.0f%% %8.2f %8.2f %9.1f%% %11.1f%% %8d\n", r.name, 100*r.goodShare, r.meanRTT, r.p95,
			100*r.maxUtil, 100*r.minUtil, r.cvUtil, r.cvInRegion, 100*r.roomSplit, 100*r.outOfRegion, r.fullRefusals)
	}
	t.Log(b.String())
	auto, noHist, geo := results[0], results[1], results[2]
	if auto.goodShare < geo.goodShare+0.1 || auto.goodShare < noHist.goodShare+0.1 {
		t.Errorf("history does not steer users to good nodes: %.3f vs %.3f (no history) and %.3f (geography)",
			auto.goodShare, noHist.goodShare, geo.goodShare)
	}
	for _, r := range results {
		if r.maxUtil > 1 || r.assignments+r.fullRefusals != users {
			t.Errorf("%s: a node over capacity (%.2f), or users lost", r.name, r.maxUtil)
		}
	}
	// Affinity keeps a region's users of a room together (history may
	// split them when a node serves one of them badly: a trade-off the
	// figures show).
	if noHist.roomSplit > geo.roomSplit || noHist.roomSplit > 0.15 {
		t.Errorf("affinity does not keep rooms together: %.3f of same-region pairs split, geography %.3f", noHist.roomSplit, geo.roomSplit)
	}
}
