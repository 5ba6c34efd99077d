package scheduler

import "net/netip"

// History is what past calls say about each node, for users from one
// network. The QoE store implements it. It is called on every join, so it
// must answer from memory at once (a cache the store refreshes in the
// background), never wait on a database.
type History interface {
	// Quality returns, by node name, what users in scope saw on each
	// node. Nodes without data are absent; the map is not modified.
	Quality(scope Scope) map[string]Quality
}

// Scope names a group of users: either a network (Prefix: a client's /24
// for IPv4 or /48 for IPv6) or, when Prefix is invalid, a region.
type Scope struct {
	Prefix netip.Prefix
	Region string
}

// Quality is what a group of users saw on a node over the store's window.
type Quality struct {
	// Calls is the number of calls the figures rest on.
	Calls int
	// StallRate is the share of those calls that stalled (audio not
	// rendered for 200 ms or video for 600 ms), 0..1.
	StallRate float64
	// JoinFailRate is the share of join attempts that failed, 0..1.
	JoinFailRate float64
	// LatencyMs is the median round-trip time the users had to the node
	// (0: not known).
	LatencyMs float64
}

// historyCost is the history term of one node: stalls, failed joins and
// latency beyond what the RTT term assumed, weighted by confidence
// calls/(calls+MinCalls). Zero without history.
func (s *Scheduler) historyCost(q Quality, ok bool, rttMs float64, measured bool) float64 {
	if !ok || q.Calls <= 0 {
		return 0
	}
	conf := float64(q.Calls) / float64(q.Calls+s.cfg.MinCalls)
	cost := clamp01(q.StallRate)*s.cfg.StallMs + clamp01(q.JoinFailRate)*s.cfg.JoinFailMs
	if !measured && q.LatencyMs > rttMs {
		// The path was slower than geography suggests; a measured RTT
		// already says so itself.
		cost += s.cfg.LatencyWeight * (q.LatencyMs - rttMs)
	}
	return conf * cost
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }

// histories fetches the two scopes of a user: its network and its region.
type histories struct {
	network, region map[string]Quality
}

func (s *Scheduler) historiesFor(loc Location) histories {
	var h histories
	src := s.history.Load().h
	if src == nil {
		return h
	}
	if loc.Network.IsValid() {
		h.network = src.Quality(Scope{Prefix: loc.Network})
	}
	if loc.Region != "" {
		h.region = src.Quality(Scope{Region: loc.Region})
	}
	return h
}

// of returns the node's history: the network's when it has at least
// MinCalls calls, else the region's, else the network's few calls.
func (h histories) of(node string, minCalls int) (Quality, bool) {
	qn, okn := h.network[node]
	if okn && qn.Calls >= minCalls {
		return qn, true
	}
	if qr, ok := h.region[node]; ok && qr.Calls > 0 {
		return qr, true
	}
	return qn, okn
}
