package cc

import (
	"os"
	"sort"
	"testing"
	"time"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	for _, name := range []string{os.Getenv("CC")} {
		for _, rtt := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond} {
			for _, loss := range []float64{0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5} {
				for _, after := range []bool{false, true} {
					c, _ := New(name, Config{Seed: 1})
					p := newPath(c, 100, rtt, 1)
					if after {
						p.lossAfter = loss
					} else {
						p.lossBefore = loss
					}
					p.run(2 * time.Second)
					var qs []time.Duration
					p.onEvent = func(p *path, _ *CongestionEvent) { qs = append(qs, p.queueDelay()) }
					g := p.goodput(8 * time.Second)
					sort.Slice(qs, func(i, j int) bool { return qs[i] < qs[j] })
					med := qs[len(qs)/2]
					st := c.Stats()
					t.Logf("%s rtt=%v loss=%.2f after=%v util=%.3f q50=%.2f state=%s bw=%.1fMbit cwnd=%d gain=%.2f", name, rtt, loss, after, g/p.rate, float64(med)/float64(rtt), st.State, st.BandwidthEst*8/1e6, st.CWND, st.PacingGain)
				}
			}
		}
	}
}
