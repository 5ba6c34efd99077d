package qrtp_test

import (
	"testing"
	"time"
)

// BenchmarkFECFirstFramesSeeds runs TestFECFirstFrames' scenario (1500
// kbit/s at 25 fps from the first frame, 50% loss both ways, RTT 200 ms,
// 300 ms deadline, 20 s) over 30 seeds in virtual time and reports the
// share of frames complete within 400 ms over all runs, the worst run, the
// runs under 99.5%, and the late frames sent in a run's first second.
//
//	go test -run X -bench FECFirstFramesSeeds -benchtime 1x ./qrtp/
func BenchmarkFECFirstFramesSeeds(b *testing.B) {
	for range b.N {
		var sent, within, under, first int
		worst := 1.0
		for seed := uint64(1); seed <= 30; seed++ {
			r := runMedia(b, mediaConfig{seed: seed, rtt: 200 * time.Millisecond, loss: 0.5, reverseLoss: 0.5,
				deadline: 300 * time.Millisecond, span: 20 * time.Second})
			sent, within = sent+r.sent, within+r.within400
			w := float64(r.within400) / float64(r.sent)
			worst = min(worst, w)
			if w < 0.995 {
				under++
			}
			for _, at := range r.late {
				if at < time.Second {
					first++
				}
			}
		}
		b.ReportMetric(100*float64(within)/float64(sent), "%within400")
		b.ReportMetric(100*worst, "%worst-run")
		b.ReportMetric(float64(under), "runs<99.5%")
		b.ReportMetric(float64(first), "late-in-1st-s")
	}
}
