package scheduler

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// testGeoDB builds a small City-format database in memory: two IPv4
// documentation networks in Paris and New York, an IPv6 one in Singapore,
// and one network without a location.
func testGeoDB(t testing.TB) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	loc := func(lat, lon float64) mmdbtype.Map {
		return mmdbtype.Map{"location": mmdbtype.Map{"latitude": mmdbtype.Float64(lat), "longitude": mmdbtype.Float64(lon),
			"accuracy_radius": mmdbtype.Uint16(20)}, "country": mmdbtype.Map{"iso_code": mmdbtype.String("XX")}}
	}
	for cidr, rec := range map[string]mmdbtype.Map{
		"203.0.113.0/24":  loc(48.85, 2.35),
		"198.51.100.0/24": loc(40.71, -74.0),
		"2001:db8:1::/48": loc(1.29, 103.85),
		"192.0.2.0/24":    {"country": mmdbtype.Map{"iso_code": mmdbtype.String("XX")}},
	} {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGeoIPLocate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.mmdb")
	if err := os.WriteFile(path, testGeoDB(t), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for addr, want := range map[string]*Coord{
		"203.0.113.9":           {Lat: 48.85, Lon: 2.35},
		"::ffff:198.51.100.200": {Lat: 40.71, Lon: -74.0},
		"2001:db8:1:2::1":       {Lat: 1.29, Lon: 103.85},
		"192.0.2.1":             nil, // in the database without a location
		"127.0.0.1":             nil,
		"2001:db8:2::1":         nil,
	} {
		c, ok := g.Locate(netip.MustParseAddr(addr))
		if (want == nil) == ok || want != nil && c != *want {
			t.Errorf("%s: %v %v, want %v", addr, c, ok, want)
		}
	}
	if _, err := OpenGeoIP(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("a missing database opened")
	}
	if _, err := OpenGeoIPBytes([]byte("not a database")); err == nil {
		t.Error("garbage opened as a database")
	}
}

// TestGeoIPPlacement: without probes, the client address decides, by
// great-circle distance to the nodes' coordinates; GeoIP outranks the
// network table and the hint, and an address it does not know falls
// through to them.
func TestGeoIPPlacement(t *testing.T) {
	g, err := OpenGeoIPBytes(testGeoDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := New(Config{Networks: []NetworkRegion{{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Region: "ap"}}}, Options{Geo: g})
	for addr, want := range map[string]string{
		"203.0.113.9":     "eu-2", // Paris: the Paris node, not Frankfurt
		"198.51.100.200":  "us-1", // New York, despite the network table
		"2001:db8:1:2::1": "ap-1",
		"192.0.2.1":       "us-1", // no location: the hint
	} {
		d, err := s.Place(t0, Request{Room: "r", Identity: addr, Addr: netip.MustParseAddr(addr), Hint: "us"}, View{Self: "eu-1", Nodes: threeRegions(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Chosen().Node != want {
			t.Errorf("%s: %s, want %s\n%s", addr, d.Chosen().Node, want, dump(d))
		}
		if want != "us-1" && (d.Location.Source != FromGeoIP || d.Chosen().RTTFrom != rttGeo) {
			t.Errorf("%s: located by %s, rtt from %s", addr, d.Location.Source, d.Chosen().RTTFrom)
		}
	}
}

// TestProbeOfRegion: a client probes one node per region; the other
// nodes of the probed region get its RTT shifted by their distance, so
// the nearer one still wins.
func TestProbeOfRegion(t *testing.T) {
	g, err := OpenGeoIPBytes(testGeoDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := New(Config{}, Options{Geo: g})
	d, err := s.Place(t0, Request{Room: "r", Identity: "p", Addr: netip.MustParseAddr("203.0.113.9"),
		RTTs: map[string]float64{"eu-1": 20, "us-1": 90, "ap-1": 180}, Policy: Nearest}, View{Self: "eu-1", Nodes: threeRegions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Chosen(); c.Node != "eu-2" || c.RTTFrom != rttProbe || c.RTTMs >= 20 {
		t.Errorf("chose %+v\n%s", c, dump(d))
	}
}

func TestDistance(t *testing.T) {
	// Frankfurt–Ashburn is about 6,500 km.
	if d := distanceKm(fra, ash); d < 6400 || d > 6600 {
		t.Errorf("Frankfurt–Ashburn %.0f km", d)
	}
	if d := distanceKm(sin, sin); d != 0 {
		t.Errorf("same point %.3f km", d)
	}
	if d := distanceKm(Coord{0, 0}, Coord{0, 180}); d < 20000 || d > 20040 {
		t.Errorf("antipodes %.0f km", d)
	}
}
