package cc

import (
	"testing"
	"time"
)

// roundSpec is one packet-timed round fed to the classifier: packets of one
// class, a fraction lost, and the queueing delay its ACKs report.
type roundSpec struct {
	class   uint8
	packets int
	loss    float64
	q       time.Duration
}

// feedRounds plays rounds into a classifier (ten ACK events per round, the
// lost packets spread over them) and returns the congestion-classified and
// total lost bytes of the last round.
func feedRounds(c *lossClassifier, minRTT time.Duration, rounds []roundSpec) (cong, lost int) {
	const mss = 1000
	for ri, r := range rounds {
		cong, lost = 0, 0
		nLost := int(float64(r.packets)*r.loss + 0.5)
		const events = 10
		for ev := 0; ev < events; ev++ {
			acked := (r.packets - nLost) / events
			l := nLost / events
			if ev < nLost%events {
				l++
			}
			rs := &RateSample{AckedBytes: acked * mss, LostBytes: l * mss}
			rs.AckedByClass[r.class] = acked * mss
			rs.LostByClass[r.class] = l * mss
			for i := 0; i < acked; i++ {
				c.onRTT(r.q)
			}
			cong += c.classify(rs, minRTT)
			lost += l * mss
		}
		if ri < len(rounds)-1 {
			c.endRound()
		}
	}
	return cong, lost
}

func repeatRound(r roundSpec, n int) []roundSpec {
	out := make([]roundSpec, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func TestLossClassifierDecisions(t *testing.T) {
	minRTT := 20 * time.Millisecond
	cruise := func(loss float64, q time.Duration) roundSpec {
		return roundSpec{class: classCruise, packets: 400, loss: loss, q: q}
	}
	probe := func(loss float64, q time.Duration) roundSpec {
		return roundSpec{class: classProbe, packets: 400, loss: loss, q: q}
	}
	// A BBR-like history: cycles of one probe round then seven others.
	cycles := func(n int, probeR, cruiseR roundSpec) []roundSpec {
		var out []roundSpec
		for i := 0; i < n; i++ {
			out = append(out, probeR)
			out = append(out, repeatRound(cruiseR, 7)...)
		}
		return out
	}
	tests := []struct {
		name      string
		history   []roundSpec
		last      roundSpec
		wantCong  bool // most of the last round's loss is congestion
		wantNoise bool // all of it is noise
	}{
		{
			name:      "steady random loss, flat delay: noise",
			history:   repeatRound(cruise(0.2, time.Millisecond), 12),
			last:      cruise(0.2, time.Millisecond),
			wantNoise: true,
		},
		{
			name:      "random loss while our probe raises delay: still noise (no excess loss)",
			history:   cycles(2, probe(0.2, 5*time.Millisecond), cruise(0.2, 0)),
			last:      probe(0.2, 5*time.Millisecond),
			wantNoise: true,
		},
		{
			name:      "loss appears with no delay rise: noise",
			history:   repeatRound(cruise(0, time.Millisecond), 12),
			last:      cruise(0.1, time.Millisecond),
			wantNoise: true,
		},
		{
			name:     "extra loss with the queue at a full buffer: congestion",
			history:  repeatRound(cruise(0.05, time.Millisecond), 12),
			last:     cruise(0.15, 18*time.Millisecond),
			wantCong: true,
		},
		{
			name:     "clean path, tail drop at a full queue: congestion",
			history:  repeatRound(cruise(0, time.Millisecond), 12),
			last:     cruise(0.03, 15*time.Millisecond),
			wantCong: true,
		},
		{
			name:     "loss tracks the sending rate (shallow buffer, flat delay): congestion",
			history:  cycles(2, probe(0.12, time.Millisecond), cruise(0.02, time.Millisecond)),
			last:     probe(0.12, time.Millisecond),
			wantCong: true,
		},
		{
			name:     "a queue stood all round while loss rose: congestion",
			history:  repeatRound(cruise(0.1, 0), 12),
			last:     cruise(0.2, 3*time.Millisecond),
			wantCong: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newLossClassifier(1000)
			cong, lost := feedRounds(c, minRTT, append(tc.history, tc.last))
			if lost == 0 {
				t.Fatal("test round lost nothing")
			}
			if tc.wantNoise && cong != 0 {
				t.Fatalf("%d of %d lost bytes classified congestion, want all noise", cong, lost)
			}
			if tc.wantCong && cong*2 < lost-int(float64(lost)*c.baseline) {
				t.Fatalf("only %d of %d lost bytes classified congestion (baseline %.3f)", cong, lost, c.baseline)
			}
		})
	}
}

func TestLossClassifierBaselineAndSplit(t *testing.T) {
	c := newLossClassifier(1000)
	feedRounds(c, 20*time.Millisecond, repeatRound(roundSpec{class: classCruise, packets: 500, loss: 0.3}, 17))
	if c.baseline < 0.27 || c.baseline > 0.33 {
		t.Fatalf("noise baseline %.3f, want about 0.3", c.baseline)
	}
	if c.congRate != 0 || c.noiseRate != c.baseline {
		t.Fatalf("split noise %.3f congestion %.3f", c.noiseRate, c.congRate)
	}
}

func TestLossTracksRate(t *testing.T) {
	tests := []struct {
		upSent, upLost, baseSent, baseLost int
		want                               bool
	}{
		{100_000, 10_000, 700_000, 70_000, false}, // equal rates
		{200_000, 30_000, 700_000, 14_000, true},  // 15% vs 2%
		{50_000, 30_000, 700_000, 14_000, false},  // too few probe packets
		{200_000, 25_000, 700_000, 80_000, false}, // 12.5% vs 11.4%: not enough
	}
	for _, tc := range tests {
		if got := lossTracksRate(tc.upSent, tc.upLost, tc.baseSent, tc.baseLost, 1000); got != tc.want {
			t.Errorf("%+v: got %v", tc, got)
		}
	}
}
