package scheduler

import (
	"net/netip"
	"testing"
)

// TestHistoryTable: figures swapped in move the choice; networks are
// matched by their /24 whatever host the store saw.
func TestHistoryTable(t *testing.T) {
	var h HistoryTable
	s := New(Config{}, Options{History: &h})
	req := Request{Room: "r", Identity: "a", Addr: netip.MustParseAddr("198.51.100.7"), RTTs: map[string]float64{"eu-1": 9, "eu-2": 16, "us-1": 90}}
	place := func() string {
		d, err := s.Place(t0, req, View{Self: "eu-1", Nodes: threeRegions(nil)})
		if err != nil {
			t.Fatal(err)
		}
		return d.Chosen().Node
	}
	if got := place(); got != "eu-1" {
		t.Fatalf("empty table: %s", got)
	}
	h.Replace(map[Scope]map[string]Quality{
		{Prefix: netip.MustParsePrefix("198.51.100.200/24")}: {"eu-1": {Calls: 50, StallRate: 0.5}},
	})
	if got := place(); got != "eu-2" {
		t.Fatalf("with history: %s", got)
	}
	if NetworkOf(netip.MustParseAddr("2001:db8:1:2::9")).Prefix.String() != "2001:db8:1::/48" {
		t.Error("IPv6 scope")
	}
}
