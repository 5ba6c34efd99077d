package bench

import (
	"os"
	"testing"
)

func TestExploreKinds(t *testing.T) {
	if os.Getenv("KINDS") == "" {
		t.Skip()
	}
	var sc []Scenario
	for _, cc := range []string{"qbbr", "bbr1"} {
		for _, m := range []int{10000, 40000} {
			sc = append(sc, Scenario{Kind: KindFairness, CC: cc, Competitor: cc, CompetitorStartMs: 1000, RTTms: 200, RateMbit: 100, QueueBDP: 1, WarmupMs: 20000, MeasureMs: m, Seed: 1})
		}
	}
	for _, r := range Run(t.Context(), sc, 0, nil) {
		t.Logf("%s %d: util=%.3f q50=%.2f flows=%.1f/%.1f jain=%.3f err=%s wall=%.1f", r.Name(), r.MeasureMs, r.Utilization, r.QueueP50Ratio, r.Flows[0].GoodputMbit, r.Flows[1].GoodputMbit, r.Jain, r.Error, r.WallSeconds)
	}
}
