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
	start := time.Now()
	var last uint64
	step := time.Duration(rtt) * time.Millisecond * 2
	for i := 0; i < 40; i++ {
		w.sim.RunFor(step)
		a := f.acked()
		st := f.conn.Stats()
		t.Logf("t=%v goodput=%.1f Mbit cwnd=%d inflight=%d pacing=%.1f state=%s bw=%.1f srtt=%v lost=%d noise=%.3f sendbuf=%d", w.sim.Elapsed(), float64(a-last)*8/step.Seconds()/1e6, st.CWND, st.BytesInFlight, st.PacingRate*8/1e6, st.Controller.State, st.Controller.BandwidthEst*8/1e6, st.SmoothedRTT, st.PacketsLost, st.Controller.NoiseLoss, f.st.Stats().SendBuffered)
		last = a
	}
	t.Logf("wall %v", time.Since(start))
}
