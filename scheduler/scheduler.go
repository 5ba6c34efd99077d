package scheduler

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler places users on access nodes. It is safe for concurrent use.
type Scheduler struct {
	cfg     Config
	geo     Locator
	history atomic.Pointer[historyBox]

	mu     sync.Mutex
	recent *recent
}

type historyBox struct{ h History }

// Options are the scheduler's optional sources of evidence.
type Options struct {
	// Geo locates client addresses (an operator's GeoIP database).
	Geo Locator
	// History is the QoE store's view of past calls.
	History History
}

// New returns a scheduler.
func New(cfg Config, opts Options) *Scheduler {
	cfg = cfg.withDefaults()
	s := &Scheduler{cfg: cfg, geo: opts.Geo, recent: newRecent(cfg.RecentWindow, cfg.MaxRecent)}
	s.SetHistory(opts.History)
	return s
}

// SetHistory replaces the history source (nil: neutral), for a QoE store
// that comes up after the node.
func (s *Scheduler) SetHistory(h History) { s.history.Store(&historyBox{h}) }

// Config is the configuration in force, defaults filled in.
func (s *Scheduler) Config() Config { return s.cfg }

// Decision is the scheduler's answer: the candidates best first (the
// first is the choice), the nodes that were not candidates and why, where
// the user was located, and why the first was chosen.
type Decision struct {
	Ranked   []Candidate `json:"ranked"`
	Excluded []Excluded  `json:"excluded,omitempty"`
	Location Location    `json:"location"`
	// Reason is the main reason, a stable code for metrics: pinned,
	// spread, affinity, history, or the location's source (rtt, geoip,
	// network, hint, entry).
	Reason string `json:"reason"`
	// Reasons say in words why the first candidate was chosen.
	Reasons []string `json:"reasons"`
	// Probes are the nodes the client should measure, one per region,
	// best first (when it has not measured yet).
	Probes []string `json:"probes,omitempty"`
}

// Chosen is the node the user should join.
func (d Decision) Chosen() Candidate { return d.Ranked[0] }

// Summary is one line for the user: "eu-1 · 12 ms · same room, same region".
func (d Decision) Summary() string {
	c := d.Chosen()
	return fmt.Sprintf("%s · %.0f ms · %s", c.Node, c.RTTMs, strings.Join(d.Reasons, ", "))
}

// Candidate is one access node that can take the user, with its cost.
type Candidate struct {
	Node   string `json:"node"`
	Region string `json:"region"`
	URL    string `json:"url"`
	// Score is the total cost in ms-equivalents, lower is better: the
	// sum of the terms below.
	Score float64 `json:"score"`
	// RTTMs is the round trip assumed to the node, and RTTFrom how it
	// was found: measured, probe (another node of its region measured),
	// geo, region, other-region.
	RTTMs     float64 `json:"rtt_ms"`
	RTTFrom   string  `json:"rtt_from"`
	Affinity  float64 `json:"affinity"`
	TrunkCopy float64 `json:"trunk_copy"`
	Load      float64 `json:"load"`
	History   float64 `json:"history"`
	// Users are the node's users with this scheduler's recent
	// assignments; Capacity its limit (0: none).
	Users    int `json:"users"`
	Capacity int `json:"capacity,omitempty"`
	// RoomUsers are the room's participants on the node.
	RoomUsers int `json:"room_users,omitempty"`
}

// Excluded is a node that was not a candidate.
type Excluded struct {
	Node string `json:"node"`
	Why  string `json:"why"`
}

// view is a View indexed for one decision.
type view struct {
	self      string
	nodes     []Node
	byName    map[string]*Node
	room      map[string]int
	roomTotal int
	region    map[string]Coord   // region centroids
	regionRTT map[string]float64 // estimates from the user's region, by region (rttTo)
}

func (s *Scheduler) index(v View) *view {
	x := &view{self: v.Self, nodes: v.Nodes, byName: make(map[string]*Node, len(v.Nodes)), room: v.Room,
		region: map[string]Coord{}, regionRTT: map[string]float64{}}
	type acc struct {
		lat, lon float64
		n        int
	}
	sum := map[string]*acc{}
	for i := range v.Nodes {
		n := &v.Nodes[i]
		x.byName[n.Name] = n
		if n.HasCoord {
			a := sum[n.Region]
			if a == nil {
				a = &acc{}
				sum[n.Region] = a
			}
			a.lat, a.lon, a.n = a.lat+n.Coord.Lat, a.lon+n.Coord.Lon, a.n+1
		}
	}
	for r, a := range sum {
		x.region[r] = Coord{Lat: a.lat / float64(a.n), Lon: a.lon / float64(a.n)}
	}
	for r, c := range s.cfg.Regions {
		x.region[r] = c
	}
	for _, c := range v.Room {
		x.roomTotal += c
	}
	return x
}

// nearestRegion is the region of the node nearest to c.
func (v *view) nearestRegion(c Coord) string {
	best, region := -1.0, ""
	for _, n := range v.nodes {
		if !n.HasCoord || !n.Access {
			continue
		}
		if d := distanceKm(c, n.Coord); best < 0 || d < best {
			best, region = d, n.Region
		}
	}
	return region
}

// Place decides where the user joins and remembers the assignment for the
// next RecentWindow. It fails with ErrNoHealthyNode or ErrPinned (the
// Decision then lists the exclusions).
func (s *Scheduler) Place(now time.Time, req Request, vw View) (Decision, error) {
	if req.Policy == "" {
		req.Policy = Auto
	}
	v := s.index(vw)
	loc := s.locate(req, v)
	var hist histories
	if req.Policy != Nearest {
		hist = s.historiesFor(loc)
	}
	d := Decision{Location: loc}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent.expire(now)
	self := userKey{req.Room, req.Identity}
	roomRecent := s.recent.roomNodes(req.Room, self)
	pending := 0
	for _, c := range roomRecent {
		pending += c
	}
	all := make([]Candidate, 0, len(v.nodes))
	for i := range v.nodes {
		n := &v.nodes[i]
		if !n.Access {
			continue // forwarding nodes are never candidates, nor worth listing
		}
		users := n.Users + s.recent.node(n.Name, self)
		if why := s.exclude(now, n, users); why != "" {
			d.Excluded = append(d.Excluded, Excluded{Node: n.Name, Why: why})
			continue
		}
		roomUsers := v.room[n.Name] + roomRecent[n.Name]
		all = append(all, s.score(n, users, roomUsers, v.roomTotal+pending, req, loc, v, hist))
	}
	// Rank pointers, not the candidates: a cluster has hundreds.
	ranked := make([]*Candidate, len(all))
	for i := range all {
		ranked[i] = &all[i]
	}
	slices.SortFunc(ranked, compare)
	if req.Policy == Single {
		ranked = keepRoom(ranked)
	}
	if err := s.choose(req, &d, ranked, v); err != nil {
		return d, err
	}
	s.explain(&d, ranked)
	d.Probes = s.probes(ranked)
	d.Ranked = make([]Candidate, 0, min(len(ranked), s.cfg.MaxRanked))
	for _, c := range ranked[:min(len(ranked), s.cfg.MaxRanked)] {
		d.Ranked = append(d.Ranked, *c)
	}
	s.recent.add(now, req.Room, req.Identity, d.Chosen().Node)
	return d, nil
}

// compare orders candidates by score, ties by name: the same view always
// ranks the same way.
func compare(a, b *Candidate) int {
	if c := cmp.Compare(a.Score, b.Score); c != 0 {
		return c
	}
	return strings.Compare(a.Node, b.Node)
}

// exclude says why a node cannot take a user now ("" if it can).
func (s *Scheduler) exclude(now time.Time, n *Node, users int) string {
	switch {
	case n.URL == "":
		return "no web address announced"
	case n.Draining:
		return "draining"
	case !n.Linked:
		return "down: no trunk reaches it"
	case now.Sub(n.Heard) > s.cfg.StaleAfter:
		return fmt.Sprintf("down: not heard for %.1f s", now.Sub(n.Heard).Seconds())
	case n.Capacity > 0 && users >= n.Capacity:
		return fmt.Sprintf("full: %d of %d users", users, n.Capacity)
	}
	return ""
}

// keepRoom keeps only the candidates the room is on, if there are any.
func keepRoom(c []*Candidate) []*Candidate {
	var on []*Candidate
	for _, x := range c {
		if x.RoomUsers > 0 {
			on = append(on, x)
		}
	}
	if len(on) == 0 {
		return c
	}
	return on
}

// choose puts the chosen candidate first in ranked: the pinned node, or
// one of the near-best by the power of two choices.
func (s *Scheduler) choose(req Request, d *Decision, ranked []*Candidate, v *view) error {
	if req.Pin != "" {
		for i, c := range ranked {
			if c.Node == req.Pin {
				copy(ranked[1:i+1], ranked[:i])
				ranked[0] = c
				d.Reason = "pinned"
				return nil
			}
		}
		for _, e := range d.Excluded {
			if e.Node == req.Pin {
				return fmt.Errorf("%w: %s is %s", ErrPinned, req.Pin, e.Why)
			}
		}
		if _, ok := v.byName[req.Pin]; ok {
			return fmt.Errorf("%w: %s is not an access node", ErrPinned, req.Pin)
		}
		return fmt.Errorf("%w: no node named %q", ErrPinned, req.Pin)
	}
	if len(ranked) == 0 {
		var why []string
		for i, e := range d.Excluded {
			if i == 8 {
				why = append(why, fmt.Sprintf("and %d more", len(d.Excluded)-i))
				break
			}
			why = append(why, e.Node+": "+e.Why)
		}
		if len(why) == 0 {
			return fmt.Errorf("%w: no access node known", ErrNoHealthyNode)
		}
		return fmt.Errorf("%w (%s)", ErrNoHealthyNode, strings.Join(why, "; "))
	}
	if req.Policy != Auto {
		return nil
	}
	near := 1
	for near < len(ranked) && ranked[near].Score <= ranked[0].Score+s.cfg.NearMs {
		near++
	}
	if near < 2 {
		return nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(req.Room + "\x00" + req.Identity))
	x := h.Sum64()
	i := int(x % uint64(near))
	j := int((x / uint64(near)) % uint64(near-1))
	if j >= i {
		j++
	}
	if i > j {
		i, j = j, i
	}
	pick := i
	if utilization(ranked[j]) < utilization(ranked[i]) {
		pick = j
	}
	if pick != 0 {
		c := ranked[pick]
		copy(ranked[1:pick+1], ranked[:pick])
		ranked[0] = c
		d.Reason = "spread"
	}
	return nil
}

func utilization(c *Candidate) float64 {
	if c.Capacity > 0 {
		return float64(c.Users) / float64(c.Capacity)
	}
	return float64(c.Users) / 1e6
}

// probes lists the best candidate of each region, best first.
func (s *Scheduler) probes(ranked []*Candidate) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range ranked {
		if !seen[c.Region] && len(out) < s.cfg.MaxProbes {
			seen[c.Region] = true
			out = append(out, c.Node)
		}
	}
	return out
}
