package scheduler

import (
	"math"
	"net/netip"
	"sort"
)

// Locator finds a client address on the map (GeoIP implements it).
type Locator interface {
	Locate(addr netip.Addr) (Coord, bool)
}

// Evidence sources, best first, as Location.Source names them.
const (
	FromRTT     = "rtt"     // the client's probes told the regions apart
	FromGeoIP   = "geoip"   // the client address in the GeoIP database
	FromNetwork = "network" // the client address in the configured networks
	FromHint    = "hint"    // the region the client said
	FromEntry   = "entry"   // nothing: the region of the node it asked
)

// Location is where the scheduler believes the user is.
type Location struct {
	Source string `json:"source"`
	Region string `json:"region,omitempty"`
	// Coord is set (HasCoord) when GeoIP found the address.
	Coord    Coord `json:"coord,omitzero"`
	HasCoord bool  `json:"-"`
	// RTTDecisive: the measured RTTs are used as the RTT term.
	RTTDecisive bool `json:"-"`
	// Network is the client's /24 or /48, the key of its history.
	Network netip.Prefix `json:"-"`
}

// locate weighs the evidence, best first.
func (s *Scheduler) locate(req Request, v *view) Location {
	loc := Location{Network: networkOf(req.Addr)}
	if s.geo != nil && req.Addr.IsValid() {
		// Coordinates help even when the probes decide the region: they
		// tell apart the nodes of a region only one of which was probed.
		loc.Coord, loc.HasCoord = s.geo.Locate(req.Addr)
	}
	if region, ok := s.rttRegion(req, v); ok {
		loc.Source, loc.Region, loc.RTTDecisive = FromRTT, region, true
		return loc
	}
	if loc.HasCoord {
		loc.Source, loc.Region = FromGeoIP, v.nearestRegion(loc.Coord)
		return loc
	}
	if req.Addr.IsValid() {
		if r, ok := s.networkRegion(req.Addr); ok {
			loc.Source, loc.Region = FromNetwork, r
			return loc
		}
	}
	if req.Hint != "" {
		loc.Source, loc.Region = FromHint, req.Hint
		return loc
	}
	loc.Source = FromEntry
	if self, ok := v.byName[v.self]; ok {
		loc.Region = self.Region
	}
	return loc
}

// rttRegion returns the region whose best measured RTT beats every other
// region's by the margin; probes that all look alike decide nothing.
func (s *Scheduler) rttRegion(req Request, v *view) (string, bool) {
	best := map[string]float64{}
	for name, ms := range req.RTTs {
		n, ok := v.byName[name]
		if !ok {
			continue
		}
		if b, seen := best[n.Region]; !seen || ms < b {
			best[n.Region] = ms
		}
	}
	if len(best) == 0 {
		return "", false
	}
	regions := make([]string, 0, len(best))
	for r := range best {
		regions = append(regions, r)
	}
	sort.Slice(regions, func(i, j int) bool {
		if best[regions[i]] != best[regions[j]] {
			return best[regions[i]] < best[regions[j]]
		}
		return regions[i] < regions[j]
	})
	if len(regions) == 1 {
		// One region measured: decisive only when it is close, the way a
		// node in the user's own region is.
		return regions[0], best[regions[0]] <= 2*s.cfg.SameRegionMs
	}
	first, second := best[regions[0]], best[regions[1]]
	return regions[0], second-first >= max(s.cfg.RTTMarginMs, first/5)
}

// networkRegion looks the address up in the configured networks; the
// longest matching prefix wins.
func (s *Scheduler) networkRegion(a netip.Addr) (string, bool) {
	a = a.Unmap()
	bits, region := -1, ""
	for _, n := range s.cfg.Networks {
		if n.Prefix.Contains(a) && n.Prefix.Bits() > bits {
			bits, region = n.Prefix.Bits(), n.Region
		}
	}
	return region, bits >= 0
}

// networkOf is the history key of a client address: its /24 (IPv4) or
// /48 (IPv6).
func networkOf(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// earthKm is the Earth's mean radius.
const earthKm = 6371.0

// distanceKm is the great-circle distance between two points (haversine).
func distanceKm(a, b Coord) float64 {
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Sqrt(min(h, 1)))
}

// rttFromDistance estimates a round trip over the distance: light in fibre
// covers 200 km per ms, and real paths run about 60% longer than the
// great circle, so 80 km of distance cost a millisecond of RTT; 5 ms for
// the access network.
func rttFromDistance(km float64) float64 { return 5 + km/80 }
