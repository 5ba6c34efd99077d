package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
)

// TestDemoRegions: three access regions by default, each access node with
// its region's coordinates and the emulated user delay --user-delay gives
// it; bad delays are refused with what to write instead.
func TestDemoRegions(t *testing.T) {
	f, err := parseDemoFlags([]string{"--user-delay", "eu=8ms,us=70ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := f.network()
	if err != nil {
		t.Fatal(err)
	}
	access := 0
	for _, ns := range spec.Nodes {
		cfg := node.Config{Name: ns.Name, Region: ns.Region, Role: ns.Role}
		spec.placeNode(&cfg)
		if ns.Role != "access" {
			if cfg.Scheduler.Lat != 0 || cfg.Scheduler.PingDelay != 0 {
				t.Errorf("%s placed: %+v", ns.Name, cfg.Scheduler)
			}
			continue
		}
		access++
		want := map[string]time.Duration{"eu": 8 * time.Millisecond, "us": 70 * time.Millisecond}[ns.Region]
		if cfg.Scheduler.Lat == 0 || cfg.Scheduler.PingDelay != want {
			t.Errorf("%s: %+v, want delay %v", ns.Name, cfg.Scheduler, want)
		}
	}
	if access != 3 {
		t.Errorf("%d access nodes by default", access)
	}
	for _, bad := range []string{"eu", "eu=fast", "eu=-1ms", "mars=5ms"} {
		f, err := parseDemoFlags([]string{"--user-delay", bad}, io.Discard)
		if err == nil {
			_, err = f.network()
		}
		if err == nil || !strings.Contains(err.Error(), "--user-delay") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if h := entryHint("http://127.0.0.1:1/", []string{"ap", "eu", "us"}); !strings.Contains(h, "&region=eu or &region=us") {
		t.Errorf("hint %q", h)
	}
}
