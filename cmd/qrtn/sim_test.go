package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestSimDeterministic: `qrtn sim --json` on a small scenario prints the
// same last line twice, and the line holds the contract's fields with
// figures that say the network worked (media crossed, the failure in the
// timeline was routed around).
func TestSimDeterministic(t *testing.T) {
	run := func() string {
		var out, errb bytes.Buffer
		args := []string{"--scenario", "../../testdata/sim/small.yaml", "--seed", "7", "--json", "--quiet"}
		if err := runSim(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("qrtn sim: %v\n%s", err, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		return lines[len(lines)-1]
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("two runs differ:\n%s\n%s", a, b)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(a), &r); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, a)
	}
	for _, k := range []string{"nodes", "rooms", "frames_sent", "frames_delivered", "latency_p95_ms", "stalls_600ms", "reroutes"} {
		if _, ok := r[k]; !ok {
			t.Errorf("field %s missing: %s", k, a)
		}
	}
	sent, delivered := r["frames_sent"].(float64), r["frames_delivered"].(float64)
	if r["nodes"].(float64) != 4 || sent < 200 || delivered < 0.6*sent {
		t.Errorf("4 nodes, most frames delivered expected: %s", a)
	}
	// The scenario kills the forwarding node carrying media at 5 s.
	if r["failures"].(float64) != 1 || r["reroutes"].(float64) == 0 {
		t.Errorf("the failure did not reroute media: %s", a)
	}
	t.Log(a)
}
