package bench

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestExploreBulk(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	rtt, _ := strconv.Atoi(os.Getenv("RTT"))
	loss, _ := strconv.ParseFloat(os.Getenv("LOSS"), 64)
	s := &Scenario{Kind: KindBulk, CC: os.Getenv("CC"), RTTms: rtt, Loss: loss, Placement: os.Getenv("PL"), RateMbit: 100, QueueBDP: 1, Seed: 1}
	w, err := newWorld(s)
	if err != nil {
		t.Fatal(err)
	}
	newSink(w)
	f, err := newBulkFlow(w, s.CC)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	step := time.Duration(rtt) * time.Millisecond * 2
	for i := 0; i < 60; i++ {
		w.sim.RunFor(step)
		a := f.acked()
		st := f.conn.Stats()
		t.Logf("t=%v goodput=%.1f cwnd=%d inflight=%d pacing=%.1f %s bw=%.1f srtt=%v L=%.3f/%.3f g=%.2f q=%.1fms", w.sim.Elapsed(), float64(a-last)*8/step.Seconds()/1e6, st.CWND, st.BytesInFlight, st.PacingRate*8/1e6, st.Controller.State, st.Controller.BandwidthEst*8/1e6, st.SmoothedRTT, st.Controller.NoiseLoss, st.Controller.CongestedLoss, st.Controller.PacingGain, float64(w.fwd.Backlog(w.sim.Now()))/w.linkRate*1000)
		last = a
	}
}
