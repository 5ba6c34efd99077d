package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarioErrors: a bad scenario file is refused with an error that
// says what is wrong.
func TestScenarioErrors(t *testing.T) {
	base := "duration: 10s\nnodes: [{name: a, region: eu, role: access}, {name: b, region: us, role: access}]\n"
	for name, c := range map[string]struct{ yaml, want string }{
		"no duration":  {"nodes: [{name: a}]\n", "duration"},
		"no nodes":     {"duration: 5s\n", "no nodes"},
		"unknown key":  {base + "colour: red\n", "colour"},
		"bad role":     {"duration: 1s\nnodes: [{name: a, role: hub}]\n", "role"},
		"bad link":     {base + "links: [{a: a, b: c}]\n", "unknown node"},
		"loss above 1": {base + "links: [{a: a, b: b, loss: 2}]\n", "loss"},
		"two actions":  {base + "timeline: [{at: 1s, kill: a, stop: b}]\n", "2 actions"},
		"user nowhere": {base + "rooms: [{name: r, users: [{id: u}]}]\n", "node or region"},
		"bad kind":     {base + "rooms: [{name: r, users: [{id: u, node: a, publish: [{kind: data}]}]}]\n", "kind"},
	} {
		_, err := ParseScenario([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", name, err, c.want)
		}
	}
}

// TestScenarioFiles: every scenario shipped in testdata/sim parses, and a
// backbone expands to the nodes and links it describes.
func TestScenarioFiles(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/sim/*.yaml")
	if len(files) < 8 {
		t.Fatalf("%d scenario files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseScenario(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if strings.HasSuffix(f, "backbone50.yaml") {
			// 5 regions × (8 access + 2 forwarding); each access node 2 uplinks,
			// 1 link inside each region's forwarding pair, 2 from each
			// forwarding node to each other region.
			if len(s.Nodes) != 50 || len(s.Links) != 5*16+5+10*2*2 {
				t.Errorf("backbone50: %d nodes, %d links", len(s.Nodes), len(s.Links))
			}
		}
	}
}
