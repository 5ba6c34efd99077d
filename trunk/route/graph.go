// Package route plans the paths that media takes between qrtn nodes: the
// shortest-latency path for meetings and a distribution tree over forwarding
// nodes for interactive live. It works on a snapshot of measured trunk
// metrics (RTT, loss, bandwidth estimate) and node load, and re-plans with
// hysteresis so that routes do not flap.
//
// It knows node names and numbers only: nothing of QRTP, RTP or sockets.
// Time is passed in.
package route

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Role is what a node does in the network.
type Role string

// The node roles.
const (
	Access     Role = "access"
	Forwarding Role = "forwarding"
)

// Mode is the room's scenario, which decides what a good route is.
type Mode string

// The scenarios.
const (
	// Meeting takes the shortest-latency path, through any node.
	Meeting Mode = "meeting"
	// Live aggregates onto the backbone: access nodes are never transit,
	// and a direct access-to-access trunk is used only when no path
	// through forwarding nodes exists, so one copy per trunk link serves
	// every viewer behind it.
	Live Mode = "live"
)

// Node is one node as the planner sees it.
type Node struct {
	Name string
	Role Role
	// Load is the node's utilisation in [0, 1]. Transit through a node
	// costs more as it fills, and a node at MaxTransitLoad or above is
	// never chosen as transit.
	Load float64
	// Down marks a node known to have failed.
	Down bool
}

// Link is one direction of a trunk, with what QRTP measured on it.
type Link struct {
	From, To string
	RTT      time.Duration
	// Loss is the fraction of packets lost on the trunk (before repair).
	Loss float64
	// Bandwidth is the controller's estimate in bits per second; 0 when
	// unknown.
	Bandwidth float64
	// Down marks a trunk that is not connected.
	Down bool
}

// Costs are the weights of the cost model. The zero value takes defaults.
type Costs struct {
	// PerHop is added for every hop: forwarding and queueing in a node.
	PerHop time.Duration
	// LossFactor scales the one-way delay by (1 + LossFactor×loss): loss
	// is repaired inside QRTP, but repair costs time and FEC bandwidth.
	LossFactor float64
	// LoadWeight is the cost of transit through a fully loaded node.
	LoadWeight time.Duration
	// MaxTransitLoad excludes nodes at or above it from transit.
	MaxTransitLoad float64
	// MaxLoss excludes links at or above it.
	MaxLoss float64
}

func (c Costs) withDefaults() Costs {
	if c.PerHop == 0 {
		c.PerHop = 2 * time.Millisecond
	}
	if c.LossFactor == 0 {
		c.LossFactor = 1
	}
	if c.LoadWeight == 0 {
		c.LoadWeight = 20 * time.Millisecond
	}
	if c.MaxTransitLoad == 0 {
		c.MaxTransitLoad = 0.95
	}
	if c.MaxLoss == 0 {
		c.MaxLoss = 0.9
	}
	return c
}

// Graph is a snapshot of the network: nodes, trunk links and their costs.
type Graph struct {
	costs Costs
	nodes map[string]Node
	out   map[string][]Link // by From, sorted by To for determinism

	// paths memoizes Path: a snapshot never changes, and a node plans the
	// same few (source, sink) pairs for every flow of every sync until
	// the next snapshot.
	mu    sync.Mutex
	paths map[Key]pathResult
}

type pathResult struct {
	path []string
	cost time.Duration
	ok   bool
}

// NewGraph builds a snapshot. Links to or from unknown nodes are ignored.
func NewGraph(nodes []Node, links []Link, costs Costs) *Graph {
	g := &Graph{costs: costs.withDefaults(), nodes: map[string]Node{}, out: map[string][]Link{}}
	for _, n := range nodes {
		g.nodes[n.Name] = n
	}
	for _, l := range links {
		if _, ok := g.nodes[l.From]; !ok {
			continue
		}
		if _, ok := g.nodes[l.To]; !ok {
			continue
		}
		g.out[l.From] = append(g.out[l.From], l)
	}
	for _, ls := range g.out {
		sort.Slice(ls, func(i, j int) bool { return ls[i].To < ls[j].To })
	}
	return g
}

// Node returns the named node.
func (g *Graph) Node(name string) (Node, bool) {
	n, ok := g.nodes[name]
	return n, ok
}

// link returns the usable link from a to b.
func (g *Graph) link(a, b string) (Link, bool) {
	for _, l := range g.out[a] {
		if l.To == b {
			return l, g.usable(l)
		}
	}
	return Link{}, false
}

func (g *Graph) usable(l Link) bool {
	return !l.Down && l.Loss < g.costs.MaxLoss && !g.nodes[l.From].Down && !g.nodes[l.To].Down
}

// hopCost is the cost of taking link l, arriving at l.To.
func (g *Graph) hopCost(l Link) time.Duration {
	oneWay := float64(l.RTT/2) * (1 + g.costs.LossFactor*l.Loss)
	return time.Duration(oneWay) + g.costs.PerHop
}

// transitCost is the cost of passing through node n (not at an end).
func (g *Graph) transitCost(n Node) (time.Duration, bool) {
	if n.Load >= g.costs.MaxTransitLoad {
		return 0, false
	}
	return time.Duration(float64(g.costs.LoadWeight) * math.Max(0, n.Load)), true
}

// PathCost is the cost of a given path under this snapshot, and whether
// every hop of it is still usable.
func (g *Graph) PathCost(mode Mode, path []string) (time.Duration, bool) {
	if len(path) == 0 {
		return 0, false
	}
	var total time.Duration
	for i := 0; i+1 < len(path); i++ {
		l, ok := g.link(path[i], path[i+1])
		if !ok || !g.allowed(mode, l, path[0], path[len(path)-1], false) {
			return 0, false
		}
		total += g.hopCost(l)
		if i+1 < len(path)-1 {
			tc, ok := g.transitCost(g.nodes[path[i+1]])
			if !ok {
				return 0, false
			}
			total += tc
		}
	}
	return total, true
}

// allowed applies the mode's rules to taking l on a path from src to dst.
// direct permits a direct access-to-access hop in live mode (the fallback).
func (g *Graph) allowed(mode Mode, l Link, src, dst string, direct bool) bool {
	if mode != Live {
		return true
	}
	from, to := g.nodes[l.From], g.nodes[l.To]
	// Access nodes are ends, never transit.
	if to.Role == Access && l.To != dst {
		return false
	}
	if from.Role == Access && l.From != src {
		return false
	}
	if from.Role == Access && to.Role == Access {
		return direct
	}
	return true
}

// ShortestPaths runs Dijkstra from src under mode and returns each reachable
// node's predecessor and cost. Ties break by node name, so every node that
// holds the same snapshot computes the same tree.
func (g *Graph) ShortestPaths(mode Mode, src string) (prev map[string]string, dist map[string]time.Duration) {
	return g.dijkstra(mode, src, "", false)
}

func (g *Graph) dijkstra(mode Mode, src, dst string, direct bool) (map[string]string, map[string]time.Duration) {
	prev := map[string]string{}
	dist := map[string]time.Duration{}
	if n, ok := g.nodes[src]; !ok || n.Down {
		return prev, dist
	}
	dist[src] = 0
	pq := &queue{{name: src}}
	done := map[string]bool{}
	for pq.Len() > 0 {
		it := heap.Pop(pq).(item)
		if done[it.name] {
			continue
		}
		done[it.name] = true
		if it.name != src {
			if n := g.nodes[it.name]; (mode == Live && n.Role == Access) || it.name == dst {
				continue // a sink: reached, but never transit
			}
			if _, ok := g.transitCost(g.nodes[it.name]); !ok {
				continue
			}
		}
		for _, l := range g.out[it.name] {
			if !g.usable(l) || done[l.To] {
				continue
			}
			end := dst
			if end == "" {
				end = l.To
			}
			if !g.allowed(mode, l, src, end, direct) {
				continue
			}
			d := dist[it.name] + g.hopCost(l)
			if it.name != src {
				tc, _ := g.transitCost(g.nodes[it.name])
				d += tc
			}
			old, seen := dist[l.To]
			if !seen || d < old || (d == old && it.name < prev[l.To]) {
				dist[l.To] = d
				prev[l.To] = it.name
				heap.Push(pq, item{name: l.To, dist: d})
			}
		}
	}
	return prev, dist
}

// Path returns the best path from src to dst under mode, with its cost.
// In live mode it falls back to a direct access-to-access trunk only when
// no path through forwarding nodes exists.
func (g *Graph) Path(mode Mode, src, dst string) ([]string, time.Duration, bool) {
	if src == dst {
		return []string{src}, 0, true
	}
	k := Key{Source: src, Sink: dst, Mode: mode}
	g.mu.Lock()
	r, hit := g.paths[k]
	g.mu.Unlock()
	if !hit {
		r.path, r.cost, r.ok = g.path(mode, src, dst)
		g.mu.Lock()
		if g.paths == nil {
			g.paths = map[Key]pathResult{}
		}
		g.paths[k] = r
		g.mu.Unlock()
	}
	return slices.Clone(r.path), r.cost, r.ok
}

func (g *Graph) path(mode Mode, src, dst string) ([]string, time.Duration, bool) {
	prev, dist := g.dijkstra(mode, src, dst, false)
	if _, ok := dist[dst]; !ok && mode == Live {
		prev, dist = g.dijkstra(mode, src, dst, true)
	}
	d, ok := dist[dst]
	if !ok {
		return nil, 0, false
	}
	path := []string{dst}
	for n := dst; n != src; {
		n = prev[n]
		path = append(path, n)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, d, true
}

type item struct {
	name string
	dist time.Duration
}

type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].dist != q[j].dist {
		return q[i].dist < q[j].dist
	}
	return q[i].name < q[j].name
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// The graph can also be kept up to date in place, one node at a time, by
// an owner that rebuilds it from records (the link-state database): a
// change of one record then costs that node's links, not the whole
// network's. Every change forgets the memoized paths.

// SetNode adds or replaces a node; its links are kept.
func (g *Graph) SetNode(n Node) {
	g.nodes[n.Name] = n
	g.forget()
}

// RemoveNode removes a node and the links from it. Links to it from other
// nodes are the owner's to replace (SetLinks).
func (g *Graph) RemoveNode(name string) {
	delete(g.nodes, name)
	delete(g.out, name)
	g.forget()
}

// SetLinks replaces the links from a node, as NewGraph would take them:
// links to or from unknown nodes are ignored.
func (g *Graph) SetLinks(from string, links []Link) {
	var out []Link
	if _, ok := g.nodes[from]; ok {
		for _, l := range links {
			if _, ok := g.nodes[l.To]; ok && l.From == from {
				out = append(out, l)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].To < out[j].To })
	if len(out) == 0 {
		delete(g.out, from)
	} else {
		g.out[from] = out
	}
	g.forget()
}

func (g *Graph) forget() {
	g.mu.Lock()
	g.paths = nil
	g.mu.Unlock()
}

// Nodes returns every node, by name.
func (g *Graph) Nodes() []Node {
	out := make([]Node, 0, len(g.nodes))
	for _, n := range g.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Links returns every link, by From then To.
func (g *Graph) Links() []Link {
	var out []Link
	for _, n := range g.Nodes() {
		out = append(out, g.out[n.Name]...)
	}
	return out
}
