package node_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboardMetrics: the dashboard in docs/grafana is valid
// JSON and every qrtn_ metric its queries name is one a node exports.
func TestGrafanaDashboardMetrics(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana/qrtn-quality.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil || len(dash.Panels) == 0 {
		t.Fatalf("dashboard: %v, %d panels", err, len(dash.Panels))
	}
	// The metrics a node defines (vectors without a child yet are not in
	// /metrics, so the definitions are read).
	src, err := os.ReadFile("quality_metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	exported := strings.Join(regexp.MustCompile(`"(qrtn_[a-z0-9_]+)"`).FindAllString(string(src), -1), "\n")
	name := regexp.MustCompile(`qrtn_[a-z0-9_]+`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !strings.Contains(exported, `"`+base+`"`) {
					t.Errorf("panel %q: %s is not exported", p.Title, m)
				}
			}
		}
	}
}
