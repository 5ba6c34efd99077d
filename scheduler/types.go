package scheduler

import (
	"errors"
	"net/netip"
	"time"
)

// Config tunes the scheduler. Costs are in milliseconds of round-trip time
// (ms-equivalents): a term of 20 weighs as much as 20 ms more RTT. The zero
// value takes the defaults.
type Config struct {
	// SameRegionMs is the RTT assumed to a node in the user's region when
	// none was measured (default 10).
	SameRegionMs float64 `yaml:"same_region_ms"`
	// OtherRegionMs is the RTT assumed to a node in another region when
	// neither has coordinates (default 150).
	OtherRegionMs float64 `yaml:"other_region_ms"`
	// RTTMarginMs: measured RTTs locate the user only when the best
	// region's beats every other region's by this much (default 10), or
	// by a fifth of it, whichever is more. Probes that all look alike (a
	// LAN, loopback) leave the location to the next evidence.
	RTTMarginMs float64 `yaml:"rtt_margin_ms"`
	// AffinityMs is the bonus of a node that already has the room in the
	// user's region (default 80).
	AffinityMs float64 `yaml:"affinity_ms"`
	// TrunkCopyMs is the cost of joining a node the room is not on while
	// it is on others: that node adds trunk copies of the room's media
	// (default 15).
	TrunkCopyMs float64 `yaml:"trunk_copy_ms"`
	// LoadMs is the cost of a full node, linear in users over capacity
	// (default 20).
	LoadMs float64 `yaml:"load_ms"`
	// NearMs: candidates within this of the best share the joins by the
	// power of two choices (default 5).
	NearMs float64 `yaml:"near_ms"`
	// StallMs, JoinFailMs: the history cost of a node on which every call
	// from the user's network stalled, or every join failed (defaults 200
	// and 300). LatencyWeight is the share of the latency that history
	// saw beyond the estimate that counts (default 0.5).
	StallMs       float64 `yaml:"stall_ms"`
	JoinFailMs    float64 `yaml:"join_fail_ms"`
	LatencyWeight float64 `yaml:"latency_weight"`
	// MinCalls is the number of calls at which history counts half
	// (default 10): a node with few calls from a network shifts little.
	MinCalls int `yaml:"min_calls"`
	// StaleAfter: a node whose link state was not heard for this long is
	// down (default 2.5 s: two and a half link-state intervals).
	StaleAfter time.Duration `yaml:"stale_after"`
	// RecentWindow is how long this scheduler's own assignments count as
	// load, until the node's announced users include them (default 3 s);
	// MaxRecent bounds how many are remembered (default 100000).
	RecentWindow time.Duration `yaml:"recent_window"`
	MaxRecent    int           `yaml:"max_recent"`
	// MaxProbes is the most probe targets (one per region) a decision
	// lists (default 6); MaxRanked the most candidates (default 10: the
	// choice and nine alternatives to fall back on).
	MaxProbes int `yaml:"max_probes"`
	MaxRanked int `yaml:"max_ranked"`
	// Networks maps client networks to regions (the third evidence,
	// after RTTs and GeoIP).
	Networks []NetworkRegion `yaml:"networks"`
	// Regions gives coordinates to regions, for hints and networks of
	// regions whose nodes have none (optional).
	Regions map[string]Coord `yaml:"regions"`
}

// NetworkRegion says that clients in Prefix are in Region.
type NetworkRegion struct {
	Prefix netip.Prefix `yaml:"cidr"`
	Region string       `yaml:"region"`
}

// Coord is a point on Earth in degrees.
type Coord struct {
	Lat float64 `yaml:"lat" json:"lat"`
	Lon float64 `yaml:"lon" json:"lon"`
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SameRegionMs, 10)
	def(&c.OtherRegionMs, 150)
	def(&c.RTTMarginMs, 10)
	def(&c.AffinityMs, 80)
	def(&c.TrunkCopyMs, 15)
	def(&c.LoadMs, 20)
	def(&c.NearMs, 5)
	def(&c.StallMs, 200)
	def(&c.JoinFailMs, 300)
	def(&c.LatencyWeight, 0.5)
	if c.MinCalls <= 0 {
		c.MinCalls = 10
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 2500 * time.Millisecond
	}
	if c.RecentWindow <= 0 {
		c.RecentWindow = 3 * time.Second
	}
	if c.MaxRecent <= 0 {
		c.MaxRecent = 100000
	}
	if c.MaxProbes <= 0 {
		c.MaxProbes = 6
	}
	if c.MaxRanked <= 0 {
		c.MaxRanked = 10
	}
	return c
}

// Node is one node of the cluster view, from its flooded link state.
type Node struct {
	Name, Region string
	// Access is false for forwarding nodes, which are never candidates.
	Access bool
	// URL is the node's HTTP base; a node without one cannot be joined.
	URL string
	// Coord is the node's configured location; HasCoord is false when it
	// announced none.
	Coord    Coord
	HasCoord bool
	// Draining: it takes no new users. Linked: some trunk of it is up by
	// both ends' word (always true for a node standing alone). Heard: when
	// its link state last arrived.
	Draining bool
	Linked   bool
	Heard    time.Time
	// Users and Capacity: browser participants now and at full load (0:
	// no limit).
	Users, Capacity int
}

// View is what the answering node knows of the cluster.
type View struct {
	// Self is the node answering the request (the user's entry node).
	Self  string
	Nodes []Node
	// Room is the requested room's participants by node, as flooded.
	Room map[string]int
}

// Policy is how a request wants its room placed.
type Policy string

// Policies: Auto weighs everything; Nearest is geography only (no
// affinity, load spreading or history: the baseline of the placement
// simulation); Single keeps a room on the node(s) it is already on, the
// way an SFU without cascading must.
const (
	Auto    Policy = "auto"
	Nearest Policy = "nearest"
	Single  Policy = "single"
)

// Request is one user's join.
type Request struct {
	Room, Identity string
	// Addr is the client's address (invalid when unknown).
	Addr netip.Addr
	// Hint is a region the user says it is in ("" for none).
	Hint string
	// RTTs are the round-trip times in ms the client measured, by node.
	RTTs map[string]float64
	// Pin names the node the user insists on ("" for none).
	Pin    string
	Policy Policy
}

// Errors callers branch on.
var (
	// ErrNoHealthyNode: no access node can take the user now.
	ErrNoHealthyNode = errors.New("scheduler: no healthy access node")
	// ErrPinned: the pinned node is unknown or cannot take users now.
	ErrPinned = errors.New("scheduler: pinned node unavailable")
	// ErrBadRequest wraps malformed requests (ParseRTTs, CheckRegion, ParsePolicy).
	ErrBadRequest = errors.New("scheduler: bad request")
)
