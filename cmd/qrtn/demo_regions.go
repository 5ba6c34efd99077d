package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/scheduler"
)

// regionPlace gives the demo's access nodes coordinates by region name, so
// that schedulers can estimate distances between regions (and GeoIP
// distances, with a database). Unknown names get none.
func regionPlace(region string) (scheduler.Coord, bool) {
	switch region {
	case "eu":
		return scheduler.Coord{Lat: 50.11, Lon: 8.68}, true // Frankfurt
	case "us":
		return scheduler.Coord{Lat: 39.04, Lon: -77.49}, true // Ashburn
	case "ap":
		return scheduler.Coord{Lat: 1.35, Lon: 103.82}, true // Singapore
	case "sa":
		return scheduler.Coord{Lat: -23.55, Lon: -46.63}, true // São Paulo
	case "af":
		return scheduler.Coord{Lat: -26.20, Lon: 28.05}, true // Johannesburg
	case "oc":
		return scheduler.Coord{Lat: -33.87, Lon: 151.21}, true // Sydney
	case "jp":
		return scheduler.Coord{Lat: 35.68, Lon: 139.69}, true // Tokyo
	case "in":
		return scheduler.Coord{Lat: 19.08, Lon: 72.88}, true // Mumbai
	case "me":
		return scheduler.Coord{Lat: 25.20, Lon: 55.27}, true // Dubai
	case "us-west":
		return scheduler.Coord{Lat: 37.34, Lon: -121.89}, true // San Jose
	}
	return scheduler.Coord{}, false
}

// parseUserDelay reads --user-delay: "eu=8ms,us=70ms,ap=150ms", the round
// trip the browser of whoever runs the demo is to have to each region's
// access node. Probes (/api/ping) then see these RTTs, as a user in one
// place would (media itself is not delayed).
func parseUserDelay(s string, regions []string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		r, d, ok := strings.Cut(strings.TrimSpace(part), "=")
		dur, err := time.ParseDuration(d)
		switch {
		case !ok || err != nil || dur < 0:
			return nil, fmt.Errorf("--user-delay %q: want REGION=DURATION[,...], e.g. eu=8ms,us=70ms", part)
		case !slices.Contains(regions, r):
			return nil, fmt.Errorf("--user-delay: no access node in region %q (--access)", r)
		}
		out[r] = dur
	}
	return out, nil
}

// placeNode gives an access node its coordinates and emulated user delay.
func (s networkSpec) placeNode(cfg *node.Config) {
	if cfg.Role != "access" {
		return
	}
	if c, ok := regionPlace(cfg.Region); ok {
		cfg.Scheduler.Lat, cfg.Scheduler.Lon = c.Lat, c.Lon
	}
	cfg.Scheduler.PingDelay = s.UserDelay[cfg.Region]
}

// entryHint is the demo's one line for people: one entry URL; the
// scheduler places every tab opened on it.
func entryHint(entry string, regions []string) string {
	var other []string
	for _, r := range regions[min(1, len(regions)):] {
		other = append(other, "&region="+r)
	}
	h := "open " + entry + "?room=demo&autojoin=1 in as many tabs as you like: the scheduler places each tab on an access node"
	if len(other) > 0 {
		h += " (add " + strings.Join(other, " or ") + " to place a tab as if it were there, &node=NAME to pin one)"
	}
	return h
}
