package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/trunk/route"
)

// Scenario is a simulation: a network, its rooms and users, and a
// timeline of events. docs/sim.md describes the file format.
type Scenario struct {
	Name string `yaml:"name"`
	// Duration is the simulated time; Warmup, at its start, is not
	// measured (trunks come up, rooms form).
	Duration time.Duration `yaml:"duration"`
	Warmup   time.Duration `yaml:"warmup"`
	// Trunk overrides every node's trunk timing.
	Trunk TrunkTuning `yaml:"trunk"`

	Nodes    []NodeSpec    `yaml:"nodes"`
	Links    []LinkDef     `yaml:"links"`
	Backbone *BackboneDef  `yaml:"backbone"`
	Rooms    []RoomDef     `yaml:"rooms"`
	Groups   []RoomGroup   `yaml:"room_groups"`
	Timeline []TimelineDef `yaml:"timeline"`
	// Placement chooses how users given by region are placed: Placer
	// "region" (the default: a room's users of a region share a node) or
	// "scheduler" (package scheduler, with Policy auto, nearest or single);
	// at most Capacity users on one access node (0: no limit).
	Placement struct {
		Placer   string `yaml:"placer"`
		Policy   string `yaml:"policy"`
		Capacity int    `yaml:"capacity"`
	} `yaml:"placement"`
}

// TrunkTuning overrides trunk timing (zero: the default).
type TrunkTuning struct {
	KeepAlive         time.Duration `yaml:"keep_alive"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	LinkStateInterval time.Duration `yaml:"link_state_interval"`
	// LinkStateRefresh: how often a node floods its record unchanged
	// (trunk.Config.LinkStateRefresh).
	LinkStateRefresh time.Duration `yaml:"link_state_refresh"`
	ReplanInterval   time.Duration `yaml:"replan_interval"`
	RedialMin        time.Duration `yaml:"redial_min"`
	RedialMax        time.Duration `yaml:"redial_max"`
	RedialRecent     time.Duration `yaml:"redial_recent"`
	// FailoverAfter: see trunk.Config (negative: wait for the idle timeout).
	FailoverAfter time.Duration `yaml:"failover_after"`
	// FloodBatch: see trunk.Config (e.g. 50ms; zero, the default: every
	// flooded record at once).
	FloodBatch time.Duration `yaml:"flood_batch"`
	// ScopedRooms: see trunk.Config (access nodes receive only the room
	// records of the rooms they host).
	ScopedRooms bool `yaml:"scoped_rooms"`
	// DualAudio turns on trunk.Scenario.DualAudio in both room modes.
	DualAudio bool `yaml:"dual_audio"`
}

// PathDef is an emulated path: rate in bits/s (0: unlimited), one-way
// delay and jitter, loss (a fraction) with a mean burst length in packets
// (0 or 1: independent losses; more: Gilbert-Elliott bursts).
type PathDef struct {
	Rate   float64       `yaml:"rate"`
	Delay  time.Duration `yaml:"delay"`
	Jitter time.Duration `yaml:"jitter"`
	Loss   float64       `yaml:"loss"`
	Burst  float64       `yaml:"burst"`
}

// LinkDef is a trunk between two nodes over a path (the same both ways).
type LinkDef struct {
	A       string `yaml:"a"`
	B       string `yaml:"b"`
	PathDef `yaml:",inline"`
}

// BackboneDef generates a multi-region network: per region, access and
// forwarding nodes (named REGION-aN and REGION-fN); every access node
// trunks to Uplinks forwarding nodes of its region; the forwarding nodes
// of a region form a full mesh (Local path); every forwarding node trunks
// to Inter forwarding nodes of every other region (the path between the
// two regions from Paths, else Far).
type BackboneDef struct {
	Regions []RegionDef  `yaml:"regions"`
	Uplinks int          `yaml:"uplinks"`
	Inter   int          `yaml:"inter"`
	Local   PathDef      `yaml:"local"`
	Far     PathDef      `yaml:"far"`
	Paths   []RegionLink `yaml:"paths"`
}

// RegionDef is one region of a backbone.
type RegionDef struct {
	Name       string `yaml:"name"`
	Access     int    `yaml:"access"`
	Forwarding int    `yaml:"forwarding"`
}

// RegionLink is the path between the forwarding nodes of two regions.
type RegionLink struct {
	A       string `yaml:"a"`
	B       string `yaml:"b"`
	PathDef `yaml:",inline"`
}

// RoomDef is a room with named users, and a crowd of viewers.
type RoomDef struct {
	Name  string    `yaml:"name"`
	Mode  string    `yaml:"mode"`
	Users []UserDef `yaml:"users"`
	Crowd *CrowdDef `yaml:"crowd"`
}

// CrowdDef is many viewers (v1, v2, ...) spread round robin over regions,
// joining at random over JoinOver.
type CrowdDef struct {
	Viewers  int           `yaml:"viewers"`
	Regions  []string      `yaml:"regions"`
	JoinOver time.Duration `yaml:"join_over"`
}

// UserDef is a user: placed by node, else by region (the Placer picks the
// node), publishing tracks and watching the others unless Watch is false.
type UserDef struct {
	ID      string      `yaml:"id"`
	Node    string      `yaml:"node"`
	Region  string      `yaml:"region"`
	Publish []TrackSpec `yaml:"publish"`
	Watch   *bool       `yaml:"watch"`
	Layer   *int        `yaml:"layer"`
	// At and Leave set when the user joins and leaves (zero: at the start,
	// and stays).
	At    time.Duration `yaml:"at"`
	Leave time.Duration `yaml:"leave"`
}

// RoomGroup generates Count rooms alike: Publishers users that publish
// Tracks, and Viewers users that only watch, spread over Regions (the
// room's users of one region are placed by the Placer; a room uses Spread
// of the regions, chosen round-robin). Joins are spread over JoinOver.
type RoomGroup struct {
	Prefix     string        `yaml:"prefix"`
	Count      int           `yaml:"count"`
	Mode       string        `yaml:"mode"`
	Publishers int           `yaml:"publishers"`
	Viewers    int           `yaml:"viewers"`
	Tracks     []TrackSpec   `yaml:"tracks"`
	Regions    []string      `yaml:"regions"`
	Spread     int           `yaml:"spread"`
	Layer      *int          `yaml:"layer"`
	JoinOver   time.Duration `yaml:"join_over"`
	// Churn is how often, per user and second, a viewer leaves; it comes
	// back RejoinAfter later (default 5 s): 0.01 makes one in a hundred
	// viewers leave every second.
	Churn       float64       `yaml:"churn"`
	RejoinAfter time.Duration `yaml:"rejoin_after"`
}

// TimelineDef is one event at a time since the start. Exactly one action
// is set.
type TimelineDef struct {
	At time.Duration `yaml:"at"`
	// Link changes the path of a trunk (both ways).
	Link *LinkDef `yaml:"link"`
	// Kill stops a node silently, Stop gracefully, Restart starts a new
	// life of it; Drain moves its users to other nodes of its region,
	// then stops it.
	Kill    string `yaml:"kill"`
	Stop    string `yaml:"stop"`
	Restart string `yaml:"restart"`
	Drain   string `yaml:"drain"`
	// Join and Leave add and remove a user of a room.
	Join  *TimelineUser `yaml:"join"`
	Leave *TimelineUser `yaml:"leave"`
}

// TimelineUser is a user joining or leaving a room.
type TimelineUser struct {
	Room    string `yaml:"room"`
	Mode    string `yaml:"mode"`
	UserDef `yaml:",inline"`
}

// LoadScenario reads a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseScenario(b)
}

// ParseScenario reads a scenario from YAML; unknown keys are errors.
func ParseScenario(b []byte) (*Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("sim: scenario: %w", err)
	}
	if err := s.expand(); err != nil {
		return nil, err
	}
	return &s, s.validate()
}

// expand generates the backbone's nodes and links.
func (s *Scenario) expand() error {
	b := s.Backbone
	if b == nil {
		return nil
	}
	if b.Uplinks <= 0 {
		b.Uplinks = 2
	}
	if b.Inter <= 0 {
		b.Inter = 1
	}
	fwd := map[string][]string{}
	for _, r := range b.Regions {
		if r.Name == "" || r.Forwarding <= 0 {
			return fmt.Errorf("sim: backbone region %q needs a name and forwarding nodes", r.Name)
		}
		for i := range r.Forwarding {
			name := fmt.Sprintf("%s-f%d", r.Name, i+1)
			s.Nodes = append(s.Nodes, NodeSpec{Name: name, Region: r.Name, Role: route.Forwarding})
			fwd[r.Name] = append(fwd[r.Name], name)
		}
		for i := range r.Access {
			name := fmt.Sprintf("%s-a%d", r.Name, i+1)
			s.Nodes = append(s.Nodes, NodeSpec{Name: name, Region: r.Name, Role: route.Access})
			for k := range min(b.Uplinks, r.Forwarding) {
				f := fwd[r.Name][(i+k)%r.Forwarding]
				s.Links = append(s.Links, LinkDef{A: name, B: f, PathDef: b.Local})
			}
		}
		fs := fwd[r.Name]
		for i := range fs {
			for j := i + 1; j < len(fs); j++ {
				s.Links = append(s.Links, LinkDef{A: fs[i], B: fs[j], PathDef: b.Local})
			}
		}
	}
	for i, ra := range b.Regions {
		for _, rb := range b.Regions[i+1:] {
			p := b.Far
			for _, pl := range b.Paths {
				if (pl.A == ra.Name && pl.B == rb.Name) || (pl.A == rb.Name && pl.B == ra.Name) {
					p = pl.PathDef
				}
			}
			fa, fb := fwd[ra.Name], fwd[rb.Name]
			for k, f := range fa {
				for x := range min(b.Inter, len(fb)) {
					s.Links = append(s.Links, LinkDef{A: f, B: fb[(k+x)%len(fb)], PathDef: p})
				}
			}
		}
	}
	return nil
}

func (s *Scenario) validate() error {
	if s.Duration <= 0 {
		return errors.New("sim: scenario: duration missing (e.g. duration: 60s)")
	}
	if len(s.Nodes) == 0 {
		return errors.New("sim: scenario: no nodes (nodes: or backbone:)")
	}
	nodes := map[string]NodeSpec{}
	for _, n := range s.Nodes {
		if _, dup := nodes[n.Name]; dup || n.Name == "" {
			return fmt.Errorf("sim: scenario: node name %q empty or repeated", n.Name)
		}
		if n.Role != "" && n.Role != route.Access && n.Role != route.Forwarding {
			return fmt.Errorf("sim: scenario: node %s: role %q (access or forwarding)", n.Name, n.Role)
		}
		nodes[n.Name] = n
	}
	seen := map[[2]string]bool{}
	for _, l := range s.Links {
		if _, ok := nodes[l.A]; !ok {
			return fmt.Errorf("sim: scenario: link %s–%s: unknown node %q", l.A, l.B, l.A)
		}
		if _, ok := nodes[l.B]; !ok || l.A == l.B {
			return fmt.Errorf("sim: scenario: link %s–%s: unknown node %q", l.A, l.B, l.B)
		}
		k := [2]string{min(l.A, l.B), max(l.A, l.B)}
		if seen[k] {
			return fmt.Errorf("sim: scenario: link %s–%s repeated", l.A, l.B)
		}
		seen[k] = true
		if _, err := l.config(); err != nil {
			return fmt.Errorf("sim: scenario: link %s–%s: %w", l.A, l.B, err)
		}
	}
	for _, r := range s.Rooms {
		if r.Name == "" || (r.Mode != "" && r.Mode != "meeting" && r.Mode != "live") {
			return fmt.Errorf("sim: scenario: room %q: name missing or mode %q (meeting or live)", r.Name, r.Mode)
		}
		for _, u := range r.Users {
			if err := s.checkUser(nodes, u); err != nil {
				return fmt.Errorf("sim: scenario: room %s: %w", r.Name, err)
			}
		}
		if c := r.Crowd; c != nil && (c.Viewers < 0 || (c.Viewers > 0 && len(c.Regions) == 0)) {
			return fmt.Errorf("sim: scenario: room %s: a crowd needs regions", r.Name)
		}
	}
	for _, g := range s.Groups {
		if g.Count <= 0 || g.Prefix == "" || len(g.Regions) == 0 {
			return fmt.Errorf("sim: scenario: room group %q needs a prefix, a count and regions", g.Prefix)
		}
	}
	if pl := s.Placement.Placer; pl != "" && pl != "region" && pl != "scheduler" {
		return fmt.Errorf("sim: scenario: placement placer %q (region or scheduler)", pl)
	}
	if _, err := scheduler.ParsePolicy(s.Placement.Policy); s.Placement.Policy != "" && err != nil {
		return fmt.Errorf("sim: scenario: placement policy: %w", err)
	}
	for _, e := range s.Timeline {
		if err := s.checkEvent(nodes, e); err != nil {
			return fmt.Errorf("sim: scenario: timeline at %v: %w", e.At, err)
		}
	}
	return nil
}

func (s *Scenario) checkUser(nodes map[string]NodeSpec, u UserDef) error {
	if u.ID == "" {
		return errors.New("a user without an id")
	}
	if u.Node != "" {
		if n, ok := nodes[u.Node]; !ok || n.Role == route.Forwarding {
			return fmt.Errorf("user %s: %q is not an access node", u.ID, u.Node)
		}
	} else if u.Region == "" {
		return fmt.Errorf("user %s: node or region missing", u.ID)
	}
	for _, ts := range u.Publish {
		if ts.Kind != "" && ts.Kind != "audio" && ts.Kind != "video" {
			return fmt.Errorf("user %s: track kind %q (audio or video)", u.ID, ts.Kind)
		}
	}
	return nil
}

func (s *Scenario) checkEvent(nodes map[string]NodeSpec, e TimelineDef) error {
	set := 0
	for _, b := range []bool{e.Link != nil, e.Kill != "", e.Stop != "", e.Restart != "", e.Drain != "",
		e.Join != nil, e.Leave != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("%d actions in one event (want exactly one)", set)
	}
	for _, n := range []string{e.Kill, e.Stop, e.Restart, e.Drain} {
		if _, ok := nodes[n]; n != "" && !ok {
			return fmt.Errorf("unknown node %q", n)
		}
	}
	if e.Link != nil {
		if _, err := e.Link.config(); err != nil {
			return err
		}
	}
	if e.Join != nil {
		return s.checkUser(nodes, e.Join.UserDef)
	}
	return nil
}

// config is the netsim configuration of a path.
func (p PathDef) config() (netsim.LinkConfig, error) {
	c := netsim.LinkConfig{Rate: p.Rate, Delay: p.Delay, Jitter: p.Jitter}
	if p.Rate > 0 {
		c.QueueBytes = netsim.QueueBDP(p.Rate, 2*p.Delay+20*time.Millisecond, 2)
	}
	switch {
	case p.Loss < 0 || p.Loss > 1:
		return c, fmt.Errorf("loss %v (a fraction in [0, 1])", p.Loss)
	case p.Loss == 0:
	case p.Burst > 1:
		m, err := netsim.Burst(p.Loss, p.Burst)
		if err != nil {
			return c, err
		}
		c.Loss = m
	default:
		c.Loss = netsim.Bernoulli(p.Loss)
	}
	return c, nil
}
