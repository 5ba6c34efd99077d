package scheduler

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP locates addresses in an operator-supplied MaxMind-format database
// (GeoLite2-City, GeoIP2-City, or any database whose records carry
// location.latitude and location.longitude). It is safe for concurrent
// use; lookups read the memory-mapped file and allocate little.
type GeoIP struct {
	db *maxminddb.Reader
}

// OpenGeoIP opens a database file. Close it when done.
func OpenGeoIP(path string) (*GeoIP, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scheduler: geoip %s: %w", path, err)
	}
	return &GeoIP{db: db}, nil
}

// OpenGeoIPBytes reads a database from memory (tests, embedded data).
func OpenGeoIPBytes(b []byte) (*GeoIP, error) {
	db, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("scheduler: geoip: %w", err)
	}
	return &GeoIP{db: db}, nil
}

// geoRecord is the part of a City record the scheduler reads.
type geoRecord struct {
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// Locate returns the address's coordinates, if the database has them.
func (g *GeoIP) Locate(a netip.Addr) (Coord, bool) {
	if !a.IsValid() {
		return Coord{}, false
	}
	var rec geoRecord
	res := g.db.Lookup(a.Unmap())
	if !res.Found() || res.Decode(&rec) != nil || rec.Location.Latitude == nil || rec.Location.Longitude == nil {
		return Coord{}, false
	}
	c := Coord{Lat: *rec.Location.Latitude, Lon: *rec.Location.Longitude}
	if c.Lat < -90 || c.Lat > 90 || c.Lon < -180 || c.Lon > 180 {
		return Coord{}, false
	}
	return c, true
}

// Close unmaps the database.
func (g *GeoIP) Close() error { return g.db.Close() }
