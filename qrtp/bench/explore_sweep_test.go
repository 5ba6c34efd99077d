package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestExploreSweep(t *testing.T) {
	if os.Getenv("SWEEP") == "" {
		t.Skip()
	}
	var sc []Scenario
	for _, cc := range strings.Split(os.Getenv("CCS"), ",") {
		for _, rtt := range []int{20, 200} {
			for _, loss := range []float64{0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5} {
				for _, pl := range []string{"before", "after"} {
					m := 8000
					if rtt == 200 {
						m = 20000
					}
					sc = append(sc, Scenario{Kind: KindBulk, CC: cc, RTTms: rtt, Loss: loss, Placement: pl, RateMbit: 100, QueueBDP: 1, WarmupMs: 2000 + rtt*10, MeasureMs: m, Seed: 1})
				}
			}
		}
	}
	res := Run(context.Background(), sc, 0, func(done, total int, r *Result) {
		t.Logf("[%d/%d] %-40s util=%.3f q50=%.2f retx=%.2f noise=%.3f cong=%.3f wall=%.1fs %s", done, total, r.Name(), r.Utilization, r.QueueP50Ratio, r.RetransmitRatio, r.NoiseLoss, r.CongestedLoss, r.WallSeconds, r.Error)
	})
	_ = res
}
