package scheduler

import (
	"fmt"
	"math"
)

// RTT sources, as Candidate.RTTFrom names them.
const (
	rttMeasured    = "measured"     // the client measured this node
	rttProbe       = "probe"        // the client measured another node of its region
	rttGeo         = "geo"          // great-circle distance from the user's GeoIP location
	rttRegion      = "region"       // a node in the user's region
	rttRegionDist  = "region-dist"  // distance between region centroids
	rttOtherRegion = "other-region" // another region, distance unknown
)

// score computes one candidate's cost terms.
func (s *Scheduler) score(n *Node, users, roomUsers, roomTotal int, req Request, loc Location, v *view, h histories) Candidate {
	c := Candidate{Node: n.Name, Region: n.Region, URL: n.URL, Users: users, Capacity: n.Capacity, RoomUsers: roomUsers}
	c.RTTMs, c.RTTFrom = s.rttTo(n, req, loc, v)
	if req.Policy != Nearest {
		switch {
		case roomUsers > 0 && (loc.Region == "" || n.Region == loc.Region):
			c.Affinity = -s.cfg.AffinityMs
		case roomUsers == 0 && roomTotal > 0:
			c.TrunkCopy = s.cfg.TrunkCopyMs
		}
		if n.Capacity > 0 {
			c.Load = s.cfg.LoadMs * min(float64(users)/float64(n.Capacity), 1)
		}
		q, ok := h.of(n.Name, s.cfg.MinCalls)
		c.History = s.historyCost(q, ok, c.RTTMs, c.RTTFrom == rttMeasured || c.RTTFrom == rttProbe)
	}
	c.Score = round2(c.RTTMs + c.Affinity + c.TrunkCopy + c.Load + c.History)
	c.History, c.Load = round2(c.History), round2(c.Load)
	return c
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// rttTo is the round trip assumed to a node, best evidence first.
func (s *Scheduler) rttTo(n *Node, req Request, loc Location, v *view) (float64, string) {
	if loc.RTTDecisive {
		if ms, ok := req.RTTs[n.Name]; ok {
			return ms, rttMeasured
		}
		best, via := -1.0, (*Node)(nil)
		for name, ms := range req.RTTs {
			if o, ok := v.byName[name]; ok && o.Region == n.Region && (best < 0 || ms < best) {
				best, via = ms, o
			}
		}
		if best >= 0 {
			if loc.HasCoord && n.HasCoord && via.HasCoord {
				// The probed node's RTT, shifted by how much nearer or
				// farther this node is: nodes of a region still differ.
				d := rttFromDistance(distanceKm(loc.Coord, n.Coord)) - rttFromDistance(distanceKm(loc.Coord, via.Coord))
				return round2(max(best+d, 1)), rttProbe
			}
			return best, rttProbe
		}
	}
	if loc.HasCoord && n.HasCoord {
		return round2(rttFromDistance(distanceKm(loc.Coord, n.Coord))), rttGeo
	}
	switch {
	case loc.Region == "" || n.Region == loc.Region:
		return s.cfg.SameRegionMs, rttRegion
	default:
		if ms, ok := v.regionRTT[n.Region]; ok {
			return ms, rttRegionDist
		}
		a, okA := v.region[loc.Region]
		b, okB := v.region[n.Region]
		if okA && okB {
			ms := round2(max(rttFromDistance(distanceKm(a, b)), s.cfg.SameRegionMs))
			v.regionRTT[n.Region] = ms
			return ms, rttRegionDist
		}
		return s.cfg.OtherRegionMs, rttOtherRegion
	}
}

// explain sets the decision's reason code (unless choose did) and words.
func (s *Scheduler) explain(d *Decision, ranked []*Candidate) {
	c := ranked[0]
	if d.Reason == "" {
		d.Reason = d.Location.Source
		switch {
		case c.Affinity < 0:
			d.Reason = "affinity"
		case historyDecided(ranked):
			d.Reason = "history"
		}
	}
	var r []string
	if c.RoomUsers > 0 {
		r = append(r, "same room")
	}
	if d.Location.Region != "" && c.Region == d.Location.Region {
		r = append(r, "same region")
	}
	switch d.Location.Source {
	case FromRTT:
		r = append(r, "fastest probe")
	case FromGeoIP:
		r = append(r, "nearest by GeoIP")
	case FromNetwork:
		r = append(r, "your network is in "+d.Location.Region)
	case FromHint:
		r = append(r, "hint "+d.Location.Region)
	}
	switch d.Reason {
	case "pinned":
		r = append([]string{"pinned"}, r...)
	case "spread":
		r = append(r, "least loaded of near-equal nodes")
	case "history":
		r = append(r, "better history from your network")
	}
	if c.TrunkCopy > 0 {
		r = append(r, "room elsewhere, too far")
	}
	if c.Capacity > 0 && c.Users*2 >= c.Capacity {
		r = append(r, fmt.Sprintf("load %d%%", 100*c.Users/c.Capacity))
	}
	if len(r) == 0 {
		r = append(r, "nearest")
	}
	d.Reasons = r
}

// historyDecided reports whether, without its history term, another
// candidate would have been first.
func historyDecided(ranked []*Candidate) bool {
	if len(ranked) < 2 || ranked[0].History == 0 && allZeroHistory(ranked) {
		return false
	}
	first := ranked[0]
	for _, c := range ranked[1:] {
		a, b := first.Score-first.History, c.Score-c.History
		if b < a || (b == a && c.Node < first.Node) {
			return true
		}
	}
	return false
}

func allZeroHistory(ranked []*Candidate) bool {
	for _, c := range ranked {
		if c.History != 0 {
			return false
		}
	}
	return true
}
