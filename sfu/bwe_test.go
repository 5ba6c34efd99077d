package sfu

import (
	"math/rand/v2"
	"testing"
	"time"
)

// bweLink is a simulated path for the estimator: packets of 1200 bytes
// sent at a steady rate through a bottleneck of capacity bits/s (0: none)
// with a fixed propagation delay, random loss, and receiver stamping
// jitter that the path does not cause.
type bweLink struct {
	sendRate, capacity int
	loss               float64
	// stallEvery/stallFor: the receiver's reading goroutine is starved
	// for stallFor every stallEvery; packets that arrive meanwhile are
	// stamped when it runs again.
	stallEvery, stallFor time.Duration
	// lateEvery: every lateEvery-th packet is stamped up to lateBy late.
	lateEvery int
	lateBy    time.Duration
}

// run feeds the estimator reports every 100 ms for d and returns the
// lowest estimate seen after the first second, the final one, and whether
// overuse was ever reported.
func (l bweLink) run(t *testing.T, initial int, d time.Duration) (lowest, final int, overuse bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	b := newBWECore(initial, 100_000, 20_000_000)
	const size = 1200
	gap := time.Duration(float64(time.Second) * size * 8 / float64(l.sendRate))
	clockOffset := 3 * time.Hour // the receiver's clock is its own
	var pkts []ackedPacket
	var linkFree time.Duration
	nextReport := 100 * time.Millisecond
	lowest = initial
	n := 0
	for sent := time.Duration(0); sent < d; sent += gap {
		n++
		arrived := sent + 20*time.Millisecond
		if l.capacity > 0 {
			arrived = max(arrived, linkFree+time.Duration(float64(time.Second)*size*8/float64(l.capacity)))
			linkFree = arrived
		}
		if l.stallEvery > 0 {
			if phase := arrived % l.stallEvery; phase < l.stallFor {
				arrived += l.stallFor - phase
			}
		}
		if l.lateEvery > 0 && n%l.lateEvery == 0 {
			arrived += time.Duration(rng.Int64N(int64(l.lateBy)))
		}
		p := ackedPacket{sent: sent, arrived: arrived + clockOffset, size: size, lost: rng.Float64() < l.loss}
		pkts = append(pkts, p)
		if sent >= nextReport {
			b.feedback(sent, pkts)
			pkts = pkts[:0]
			nextReport += 100 * time.Millisecond
			if o, _ := b.evidence(); o {
				overuse = true
			}
			if sent > time.Second {
				lowest = min(lowest, b.target())
			}
		}
	}
	return lowest, b.target(), overuse
}

func TestBWE(t *testing.T) {
	const mbit = 1_000_000
	for _, tc := range []struct {
		name    string
		link    bweLink
		initial int
		// the estimate must stay within [lowMin, finalMax]
		lowMin, finalMin, finalMax int
		overuse                    bool
	}{
		{name: "clean link keeps the estimate", link: bweLink{sendRate: 1.6 * mbit},
			initial: 10 * mbit, lowMin: 10 * mbit, finalMin: 10 * mbit, finalMax: 10 * mbit},
		{name: "receiver starved 30 ms every 200 ms is not congestion", link: bweLink{sendRate: 1.6 * mbit, stallEvery: 200 * time.Millisecond, stallFor: 30 * time.Millisecond},
			initial: 10 * mbit, lowMin: 10 * mbit, finalMin: 10 * mbit, finalMax: 10 * mbit},
		{name: "receiver starved 300 ms every 2 s is not congestion", link: bweLink{sendRate: 1.6 * mbit, stallEvery: 2 * time.Second, stallFor: 300 * time.Millisecond},
			initial: 10 * mbit, lowMin: 10 * mbit, finalMin: 10 * mbit, finalMax: 10 * mbit},
		{name: "single packets stamped up to 80 ms late are not congestion", link: bweLink{sendRate: 1.6 * mbit, lateEvery: 3, lateBy: 80 * time.Millisecond},
			initial: 10 * mbit, lowMin: 10 * mbit, finalMin: 10 * mbit, finalMax: 10 * mbit},
		{name: "a 1 Mbit/s bottleneck brings it down", link: bweLink{sendRate: 1.6 * mbit, capacity: 1 * mbit},
			initial: 10 * mbit, lowMin: 100_000, finalMin: 0.7 * mbit, finalMax: 1 * mbit, overuse: true},
		{name: "20% loss brings it down", link: bweLink{sendRate: 1.6 * mbit, loss: 0.2},
			initial: 10 * mbit, lowMin: 100_000, finalMin: 100_000, finalMax: 2 * mbit},
		{name: "5% loss holds it", link: bweLink{sendRate: 1.6 * mbit, loss: 0.05},
			initial: 3 * mbit, lowMin: 3 * mbit, finalMin: 3 * mbit, finalMax: 3 * mbit},
		{name: "grows at 8%/s up to 1.5 × the received rate", link: bweLink{sendRate: 1.6 * mbit},
			initial: 1 * mbit, lowMin: 1 * mbit, finalMin: 2.3 * mbit, finalMax: 2.45 * mbit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lowest, final, overuse := tc.link.run(t, tc.initial, 20*time.Second)
			if lowest < tc.lowMin || final < tc.finalMin || final > tc.finalMax || overuse != tc.overuse {
				t.Fatalf("lowest %d (want ≥ %d), final %d (want %d–%d), overuse %v (want %v)",
					lowest, tc.lowMin, final, tc.finalMin, tc.finalMax, overuse, tc.overuse)
			}
		})
	}
}

// TestBWERecoversAfterCongestion: once the bottleneck is gone the
// estimate grows back.
func TestBWERecoversAfterCongestion(t *testing.T) {
	b := newBWECore(3_000_000, 100_000, 20_000_000)
	b.estimate = 500_000
	var pkts []ackedPacket
	now := time.Duration(0)
	for range 200 { // 20 s of reports at 1.6 Mbit/s, no queue
		pkts = pkts[:0]
		for k := range 17 {
			s := now + time.Duration(k)*6*time.Millisecond
			pkts = append(pkts, ackedPacket{sent: s, arrived: s + 30*time.Millisecond, size: 1200})
		}
		now += 100 * time.Millisecond
		b.feedback(now, pkts)
	}
	if b.target() < 2_000_000 {
		t.Fatalf("estimate %d after 20 s clean at 1.6 Mbit/s, want it back above 2 Mbit/s", b.target())
	}
}

// TestBWELossEvidenceForgetsABurst: a burst of loss lowers the estimate,
// but half a second of clean reports later it is no evidence of congestion
// any more; loss in every report is.
func TestBWELossEvidenceForgetsABurst(t *testing.T) {
	b := newBWECore(3_000_000, 100_000, 20_000_000)
	report := func(now time.Duration, lostEvery int) {
		var pkts []ackedPacket
		for k := range 17 {
			s := now - 100*time.Millisecond + time.Duration(k)*6*time.Millisecond
			pkts = append(pkts, ackedPacket{sent: s, arrived: s + 30*time.Millisecond, size: 1200, lost: lostEvery > 0 && k%lostEvery == 0})
		}
		b.feedback(now, pkts)
	}
	now := time.Duration(0)
	for range 10 {
		now += 100 * time.Millisecond
		report(now, 0)
	}
	now += 100 * time.Millisecond
	report(now, 1) // every packet of one report lost
	if b.target() >= 3_000_000 {
		t.Fatalf("a report with all packets lost left the estimate at %d", b.target())
	}
	for range 5 {
		now += 100 * time.Millisecond
		report(now, 0)
	}
	if _, loss := b.evidence(); loss >= lossEvidence {
		t.Fatalf("loss evidence %.3f half a second after a burst", loss)
	}
	for range 5 {
		now += 100 * time.Millisecond
		report(now, 10) // one in ten lost, every report
	}
	if _, loss := b.evidence(); loss < lossEvidence {
		t.Fatalf("loss evidence %.3f with 10%% loss in every report", loss)
	}
}
