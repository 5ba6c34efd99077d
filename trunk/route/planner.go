package route

import (
	"slices"
	"time"
)

// Hysteresis keeps routes from flapping. The zero value takes defaults.
type Hysteresis struct {
	// Ratio: a new path must cost less than Ratio × the current one.
	Ratio float64
	// MinGain: and be cheaper by at least this much.
	MinGain time.Duration
	// HoldDown: and stay better for this long before the switch.
	HoldDown time.Duration
}

func (h Hysteresis) withDefaults() Hysteresis {
	if h.Ratio == 0 {
		h.Ratio = 0.8
	}
	if h.MinGain == 0 {
		h.MinGain = 10 * time.Millisecond
	}
	if h.HoldDown == 0 {
		h.HoldDown = 3 * time.Second
	}
	return h
}

// Key names one route: media from Source to Sink in a mode.
type Key struct {
	Source, Sink string
	Mode         Mode
}

// Route is a planned path, Source first and Sink last.
type Route struct {
	Path []string
	Cost time.Duration
}

// NextHop is the node after from on the route, or "" if from is not on it
// or is its sink.
func (r Route) NextHop(from string) string {
	i := slices.Index(r.Path, from)
	if i < 0 || i+1 >= len(r.Path) {
		return ""
	}
	return r.Path[i+1]
}

// Upstream is the node before at on the route, or "" if at is its source
// or not on it.
func (r Route) Upstream(at string) string {
	i := slices.Index(r.Path, at)
	if i <= 0 {
		return ""
	}
	return r.Path[i-1]
}

// Planner remembers the routes in use and changes one only when it fails or
// when a better one has stayed better for the hold-down time. Not safe for
// concurrent use.
type Planner struct {
	h      Hysteresis
	routes map[Key]*planned
}

type planned struct {
	current   Route
	candidate []string
	since     time.Time
}

// NewPlanner returns a planner with the given hysteresis.
func NewPlanner(h Hysteresis) *Planner {
	return &Planner{h: h.withDefaults(), routes: map[Key]*planned{}}
}

// Plan returns the route to use for k under snapshot g at now, and whether it
// differs from the route returned last time. ok is false when no path
// exists; the remembered route is then forgotten.
func (p *Planner) Plan(now time.Time, g *Graph, k Key) (r Route, changed, ok bool) {
	best, bestCost, found := g.Path(k.Mode, k.Source, k.Sink)
	st := p.routes[k]
	if !found {
		delete(p.routes, k)
		return Route{}, st != nil, false
	}
	if st == nil {
		st = &planned{current: Route{Path: best, Cost: bestCost}}
		p.routes[k] = st
		return st.current, true, true
	}
	curCost, alive := g.PathCost(k.Mode, st.current.Path)
	switch {
	case !alive:
		// Failure: switch at once, no hold-down.
		st.current, st.candidate = Route{Path: best, Cost: bestCost}, nil
		return st.current, true, true
	case slices.Equal(best, st.current.Path) || !p.better(bestCost, curCost):
		st.current.Cost, st.candidate = curCost, nil
		return st.current, false, true
	case !slices.Equal(st.candidate, best):
		st.current.Cost, st.candidate, st.since = curCost, best, now
		return st.current, false, true
	case now.Sub(st.since) < p.h.HoldDown:
		st.current.Cost = curCost
		return st.current, false, true
	default:
		st.current, st.candidate = Route{Path: best, Cost: bestCost}, nil
		return st.current, true, true
	}
}

func (p *Planner) better(candidate, current time.Duration) bool {
	return float64(candidate) < p.h.Ratio*float64(current) && current-candidate >= p.h.MinGain
}

// Forget drops the route for k (nobody needs it any more).
func (p *Planner) Forget(k Key) { delete(p.routes, k) }

// Tree is the union of the routes from one source to many sinks: each node's
// parent. Because every path comes from the same shortest-path computation,
// the union is a tree, and a trunk link carries one copy of the media
// whatever the number of sinks behind it.
func Tree(routes []Route) (parent map[string]string) {
	parent = map[string]string{}
	for _, r := range routes {
		for i := 1; i < len(r.Path); i++ {
			if _, ok := parent[r.Path[i]]; !ok {
				parent[r.Path[i]] = r.Path[i-1]
			}
		}
	}
	return parent
}
