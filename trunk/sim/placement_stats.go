package sim

import (
	"container/heap"
	"fmt"
	"slices"
	"time"
)

// PlacementStats says where the placer put the users it was asked about
// (users given by region, and users moved by a drain), so that placers
// and scheduler policies can be compared on one scenario and seed.
//
// The simulation does not model the user's last mile, so a placer that
// puts everyone on one node would look perfect by the trunk figures
// alone. LastMile makes up for that: it is the extra one-way delay of a
// user placed away from its region, estimated as the shortest path over
// the scenario's links from the nearest access node of the user's region
// to the chosen node (0 in its own region). A viewer's latency is then
// roughly the publisher's last mile + the trunk path + its own last mile.
type PlacementStats struct {
	Placer string `json:"placer"` // "region", or "scheduler:POLICY"
	// Placed counts placements (a drained user is placed again).
	Placed int `json:"placed"`
	// OffRegion counts placements on a node outside the user's region.
	OffRegion int `json:"off_region"`
	// LastMileP50Ms and LastMileP95Ms are the extra one-way delay of the
	// placements (see above), in ms.
	LastMileP50Ms float64 `json:"last_mile_p50_ms"`
	LastMileP95Ms float64 `json:"last_mile_p95_ms"`
	LastMileMaxMs float64 `json:"last_mile_max_ms"`
	// NodesPerRoom is the mean and the largest number of access nodes a
	// room's users were on at the end of the run.
	NodesPerRoom    float64 `json:"access_nodes_per_room"`
	MaxNodesPerRoom int     `json:"access_nodes_per_room_max"`
}

// placements records the placer's choices during a run.
type placements struct {
	name  string
	n     *Network
	dist  map[string]map[string]time.Duration // region → node → delay
	delay []time.Duration
	off   int
}

func newPlacements(n *Network, s *Scenario) *placements {
	name := "region"
	if s.Placement.Placer == "scheduler" {
		p := s.Placement.Policy
		if p == "" {
			p = "auto"
		}
		name = "scheduler:" + p
	}
	return &placements{name: name, n: n, dist: map[string]map[string]time.Duration{}}
}

// note records that a user of region was placed on node.
func (p *placements) note(region, node string) {
	nd := p.n.nodes[node]
	if region == "" || nd == nil {
		return
	}
	d := time.Duration(0)
	if nd.Spec.Region != region {
		p.off++
		d = p.fromRegion(region)[node]
	}
	p.delay = append(p.delay, d)
}

// fromRegion is the one-way delay from the region's access nodes to every
// node, over the links as configured now (Dijkstra from many sources).
func (p *placements) fromRegion(region string) map[string]time.Duration {
	if d, ok := p.dist[region]; ok {
		return d
	}
	dist := map[string]time.Duration{}
	q := &delayQueue{}
	for _, nd := range p.n.regions[region] {
		if nd.local != nil {
			dist[nd.Spec.Name] = 0
			heap.Push(q, delayItem{nd.Spec.Name, 0})
		}
	}
	for q.Len() > 0 {
		it := heap.Pop(q).(delayItem)
		if it.d > dist[it.node] {
			continue
		}
		for _, other := range p.n.order {
			cfg, ok := p.n.Link(it.node, other.Spec.Name)
			if !ok || cfg.Loss.MeanLoss() >= 1 {
				continue
			}
			nd := it.d + cfg.Delay
			if cur, seen := dist[other.Spec.Name]; !seen || nd < cur {
				dist[other.Spec.Name] = nd
				heap.Push(q, delayItem{other.Spec.Name, nd})
			}
		}
	}
	p.dist[region] = dist
	return dist
}

// stats summarizes the placements and the rooms' spread now.
func (p *placements) stats() *PlacementStats {
	st := &PlacementStats{Placer: p.name, Placed: len(p.delay), OffRegion: p.off}
	if len(p.delay) > 0 {
		d := slices.Clone(p.delay)
		slices.Sort(d)
		st.LastMileP50Ms = ms(d[len(d)/2])
		st.LastMileP95Ms = ms(d[min(len(d)-1, len(d)*95/100)])
		st.LastMileMaxMs = ms(d[len(d)-1])
	}
	spread := map[string]int{}
	for _, nd := range p.n.order {
		if !nd.up || nd.local == nil {
			continue
		}
		for name, r := range nd.local.rooms {
			if len(r.users) > 0 {
				spread[name]++
			}
		}
	}
	total := 0
	for _, c := range spread {
		total += c
		st.MaxNodesPerRoom = max(st.MaxNodesPerRoom, c)
	}
	if len(spread) > 0 {
		st.NodesPerRoom = round2(float64(total) / float64(len(spread)))
	}
	return st
}

// markdown is the report's line on placement.
func (st *PlacementStats) markdown() string {
	return fmt.Sprintf("\nPlacement (%s): %d users placed, %d outside their region; extra last-mile delay "+
		"p50 / p95 / max %.0f / %.0f / %.0f ms; access nodes per room %.2f (at most %d).\n",
		st.Placer, st.Placed, st.OffRegion, st.LastMileP50Ms, st.LastMileP95Ms, st.LastMileMaxMs,
		st.NodesPerRoom, st.MaxNodesPerRoom)
}

type delayItem struct {
	node string
	d    time.Duration
}

type delayQueue []delayItem

func (q delayQueue) Len() int           { return len(q) }
func (q delayQueue) Less(i, j int) bool { return q[i].d < q[j].d }
func (q delayQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)        { *q = append(*q, x.(delayItem)) }
func (q *delayQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
