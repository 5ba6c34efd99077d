package bench

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestExploreFair(t *testing.T) {
	if os.Getenv("FAIR") == "" {
		t.Skip()
	}
	rtt, _ := strconv.Atoi(os.Getenv("RTT"))
	startMs, _ := strconv.Atoi(os.Getenv("START"))
	rate, _ := strconv.ParseFloat(os.Getenv("RATE"), 64)
	s := &Scenario{Kind: KindFairness, CC: os.Getenv("CC"), RTTms: rtt, RateMbit: rate, QueueBDP: 1, Seed: 1}
	w, _ := newWorld(s)
	newSink(w)
	a, _ := newBulkFlow(w, s.CC)
	var b *bulkFlow
	w.sim.After(time.Duration(startMs)*time.Millisecond, func() { b, _ = newBulkFlow(w, os.Getenv("CC2")) })
	var la, lb uint64
	step := 250 * time.Millisecond
	for i := 0; i < 40; i++ {
		w.sim.RunFor(step)
		if b == nil {
			continue
		}
		sa, sb := a.conn.Stats(), b.conn.Stats()
		t.Logf("t=%v A %.1f (bw %.1f %s g%.2f L%.3f/%.3f) B %.1f (cwnd %d %s) q=%.1fms", w.sim.Elapsed(), float64(a.acked()-la)*8/step.Seconds()/1e6, sa.Controller.BandwidthEst*8/1e6, sa.Controller.State, sa.Controller.PacingGain, sa.Controller.NoiseLoss, sa.Controller.CongestedLoss,
			float64(b.acked()-lb)*8/step.Seconds()/1e6, sb.CWND, sb.Controller.State, float64(w.fwd.Backlog(w.sim.Now()))/w.linkRate*1000)
		la, lb = a.acked(), b.acked()
	}
}
