package bench

import (
	"time"
)

// probeSample is the sender's state at one sampling instant.
type probeSample struct {
	at     time.Time
	acked  uint64
	probed bool // the controller was in ProbeRTT
}

// runProbeRTT runs a bulk flow long enough for its controller's ProbeRTT
// and measures each ProbeRTT episode against the rate just before it.
func runProbeRTT(s *Scenario) (Result, error) {
	var r Result
	w, err := newWorld(s)
	if err != nil {
		return r, err
	}
	newSink(w)
	f, err := newBulkFlow(w, s.CC)
	if err != nil {
		return r, err
	}
	bin := max(w.baseRTT/10, time.Millisecond)
	var samples []probeSample
	stop := w.sim.Every(bin, func() {
		samples = append(samples, probeSample{at: w.sim.Now(), acked: f.acked(), probed: f.conn.Stats().Controller.State == "probe_rtt"})
	})
	w.sim.RunFor(s.warmup())
	win := startWindow(w, f)
	w.sim.RunFor(s.measure())
	stop()
	win.finish(w, f, s.measure(), &r)
	r.ProbeRTT = probeRTTFigures(samples, w.baseRTT, w.linkRate, bin)
	return r, nil
}

// probeRTTFigures finds the ProbeRTT episodes in samples and prices them.
func probeRTTFigures(samples []probeSample, rtt time.Duration, linkRate float64, bin time.Duration) *ProbeRTTResult {
	res := &ProbeRTTResult{MinThroughput: 1}
	perRTT := max(int(rtt/bin), 1)
	before := max(int(time.Second/bin), 1)
	var totalDur, totalLost float64
	for i := 0; i < len(samples); i++ {
		if !samples[i].probed || (i > 0 && samples[i-1].probed) {
			continue
		}
		start := i
		end := start
		for end < len(samples) && samples[end].probed {
			end++
		}
		// The rate over the second before the episode is the yardstick.
		if start < before || end+2*perRTT >= len(samples) {
			continue
		}
		ref := rate(samples[start-before], samples[start])
		res.Count++
		totalDur += ms(samples[end].at.Sub(samples[start].at))
		a, b := samples[start], samples[end+2*perRTT]
		lost := ref*b.at.Sub(a.at).Seconds() - float64(b.acked-a.acked)
		totalLost += max(lost, 0) / linkRate * 1000
		for j := start; j+perRTT <= end+perRTT && j+perRTT < len(samples); j++ {
			res.MinThroughput = min(res.MinThroughput, rate(samples[j], samples[j+perRTT])/linkRate)
		}
		i = end
	}
	if res.Count == 0 {
		res.MinThroughput = 0
		return res
	}
	res.MeanDurationMs = totalDur / float64(res.Count)
	res.LostLinkMs = totalLost / float64(res.Count)
	return res
}

// rate is the acknowledged bytes per second between two samples.
func rate(a, b probeSample) float64 {
	d := b.at.Sub(a.at).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(b.acked-a.acked) / d
}
