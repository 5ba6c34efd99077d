package cc

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestTrace(t *testing.T) {
	if os.Getenv("TRACE") == "" {
		t.Skip()
	}
	loss, _ := strconv.ParseFloat(os.Getenv("LOSS"), 64)
	rttms, _ := strconv.Atoi(os.Getenv("RTT"))
	c, _ := New(os.Getenv("CC"), Config{Seed: 1})
	p := newPath(c, 100, time.Duration(rttms)*time.Millisecond, 1)
	if os.Getenv("AFTER") != "" {
		p.lossAfter = loss
	} else {
		p.lossBefore = loss
	}
	step := time.Duration(rttms) * time.Millisecond
	if x, _ := strconv.ParseFloat(os.Getenv("CROSS"), 64); x > 0 {
		p.run(2 * time.Second)
		p.crossRate = x * p.rate
		step = 100 * time.Millisecond
	}
	for i := 0; i < 40; i++ {
		g := p.goodput(step)
		st := c.Stats()
		t.Logf("t=%v util=%.3f state=%s bw=%.1fMbit pace=%.1f cwnd=%d inflight=%d gain=%.2f q=%v loss=%.3f noise=%.3f xdrop=%d", p.now.Sub(t0), g/p.rate, st.State, st.BandwidthEst*8/1e6, st.PacingRate*8/1e6, st.CWND, p.inFlight, st.PacingGain, p.queueDelay(), st.LossRate, st.NoiseLoss, p.crossDropped)
	}
}
