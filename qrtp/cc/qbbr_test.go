package cc

import (
	"math"
	"sort"
	"testing"
	"time"
)

type qbbrModeChange struct {
	from, to string
	at       time.Time
	inFlight int
}

// watchQBBR records qbbr's state changes as the path runs.
func watchQBBR(q *QBBR, p *path) *[]qbbrModeChange {
	var changes []qbbrModeChange
	last := q.mode.String()
	prev := p.onEvent
	p.onEvent = func(p *path, e *CongestionEvent) {
		if prev != nil {
			prev(p, e)
		}
		if m := q.mode.String(); m != last {
			changes = append(changes, qbbrModeChange{from: last, to: m, at: p.now, inFlight: p.inFlight})
			last = m
		}
	}
	return &changes
}

func findChange(changes []qbbrModeChange, from, to string) *qbbrModeChange {
	for i := range changes {
		if changes[i].from == from && changes[i].to == to {
			return &changes[i]
		}
	}
	return nil
}

func TestQBBRStartupDrainProbeBW(t *testing.T) {
	q := NewQBBR(Config{Seed: 1})
	p := newPath(q, 100, 20*time.Millisecond, 4) // deep enough that Startup never overflows it
	changes := watchQBBR(q, p)
	p.run(time.Second)
	s2d := findChange(*changes, "startup", "drain")
	d2p := findChange(*changes, "drain", "probe_bw")
	if s2d == nil || d2p == nil {
		t.Fatalf("want startup -> drain -> probe_bw, got %+v", *changes)
	}
	// It ends on a full-pipe test, not on loss: the buffer never fills.
	if !q.startup.faltered() || p.tailDrops > 0 {
		t.Fatalf("Startup ended without growth faltering (%d, %d flat rounds), %d packets dropped",
			q.startup.fullBWCount, q.startup.roundFlat, p.tailDrops)
	}
	// Drain ends with inflight near one BDP of the link.
	bdp := int(p.rate * p.baseRTT.Seconds())
	if d2p.inFlight > bdp*13/10 {
		t.Fatalf("left Drain with %d in flight, BDP %d", d2p.inFlight, bdp)
	}
}

func TestQBBRStartupEndsOnCongestionLoss(t *testing.T) {
	q := NewQBBR(Config{Seed: 1})
	// A buffer of a fifth of the BDP: Startup overflows it well before its
	// bandwidth growth stalls for three rounds.
	p := newPath(q, 100, 20*time.Millisecond, 0.2)
	changes := watchQBBR(q, p)
	p.run(time.Second)
	if findChange(*changes, "startup", "drain") == nil {
		t.Fatalf("no startup -> drain in %+v", *changes)
	}
	if q.startup.fullBWCount >= qbbrFullBWRounds {
		t.Fatal("Startup ended by bandwidth growth, not by congestion loss")
	}
	if q.loss.congRate == 0 && q.loss.hist[0].congLost == 0 && q.loss.hist[1].congLost == 0 {
		t.Fatal("no loss was classified as congestion")
	}
}

// TestQBBRStartupKeepsInitialWindow: loss judged congestion takes bytes
// off the window, but never below the initial window until Startup has
// measured the pipe; after that, down to the minimum window.
func TestQBBRStartupKeepsInitialWindow(t *testing.T) {
	q := NewQBBR(Config{Seed: 1, MSS: 1200})
	iw := q.cfg.InitialWindow * q.cfg.MSS
	for range 10 {
		q.setCwnd(&RateSample{}, 10*q.cfg.MSS)
	}
	if q.cwnd != iw {
		t.Fatalf("cwnd %d in Startup after congestion loss, want the initial %d", q.cwnd, iw)
	}
	q.fullBWReached = true
	for range 10 {
		q.setCwnd(&RateSample{}, 10*q.cfg.MSS)
	}
	if q.cwnd != q.cfg.MinWindow*q.cfg.MSS {
		t.Fatalf("cwnd %d once the pipe was measured, want the minimum %d", q.cwnd, q.cfg.MinWindow*q.cfg.MSS)
	}
}

func TestQBBRGainCycle(t *testing.T) {
	starts := map[int]bool{}
	for seed := uint64(0); seed < 16; seed++ {
		q := NewQBBR(Config{Seed: seed})
		p := newPath(q, 20, 20*time.Millisecond, 2)
		var gains []float64
		first := -1
		last := -1
		p.onEvent = func(*path, *CongestionEvent) {
			if q.mode != &q.probeBW {
				return
			}
			if first < 0 {
				first = q.probeBW.idx
			}
			if q.probeBW.idx != last {
				gains = append(gains, q.probeBW.pacingGain())
				last = q.probeBW.idx
			}
		}
		p.run(2 * time.Second)
		if first == qbbrPhaseDown {
			t.Fatalf("seed %d entered ProbeBW in the drain phase", seed)
		}
		starts[first] = true
		for i, g := range gains {
			if g == 1.25 && i+8 <= len(gains) {
				for j, w := range qbbrGainCycle {
					if gains[i+j] != w {
						t.Fatalf("seed %d: cycle %v", seed, gains[i:i+8])
					}
				}
			}
		}
	}
	if len(starts) < 3 {
		t.Fatalf("start phases %v not randomised", starts)
	}
}

func TestQBBRProbeRTTIsShortAndShallow(t *testing.T) {
	q := NewQBBR(Config{Seed: 1, ProbeRTTInterval: time.Second, StrictProbeRTT: true})
	p := newPath(q, 100, 20*time.Millisecond, 1)
	changes := watchQBBR(q, p)
	minCwnd := 1 << 30
	var probeDelivered int64
	var probeTime time.Duration
	var last time.Time
	var lastDelivered int64
	prev := p.onEvent
	p.onEvent = func(p *path, e *CongestionEvent) {
		prev(p, e)
		if q.mode == &q.probeRTT {
			minCwnd = min(minCwnd, q.cwnd)
			probeDelivered += p.delivered - lastDelivered
			probeTime += p.now.Sub(last)
		}
		last, lastDelivered = p.now, p.delivered
	}
	p.run(2500 * time.Millisecond)
	enter := findChange(*changes, "probe_bw", "probe_rtt")
	if enter == nil || q.probeRTT.count == 0 {
		t.Fatalf("no ProbeRTT in %+v", *changes)
	}
	if !q.probeRTT.lastFresh {
		t.Fatal("ProbeRTT ended without a fresh min-RTT sample on an idle path")
	}
	if d := q.probeRTT.lastDuration; d > 2*p.baseRTT || d < p.baseRTT {
		t.Fatalf("ProbeRTT lasted %v, want between one and two RTTs", d)
	}
	bdp := int(p.rate * p.baseRTT.Seconds())
	if minCwnd < bdp/2 {
		t.Fatalf("cwnd fell to %d in ProbeRTT, BDP %d: deeper than the 0.5 BDP step", minCwnd, bdp)
	}
	if r := float64(probeDelivered) / probeTime.Seconds(); r < 0.6*p.rate {
		t.Fatalf("delivered %.0f%% of the link during ProbeRTT", 100*r/p.rate)
	}
}

func TestQBBRProbeRTTSkippedWhileMinRTTIsConfirmed(t *testing.T) {
	q := NewQBBR(Config{Seed: 1, ProbeRTTInterval: time.Second})
	p := newPath(q, 100, 20*time.Millisecond, 1)
	p.run(4 * time.Second)
	if q.probeRTT.count != 0 {
		t.Fatalf("%d ProbeRTTs although drain phases keep confirming min RTT", q.probeRTT.count)
	}
}

func TestQBBRProbeRTTAdoptsNewMinAfterTwoFruitlessProbes(t *testing.T) {
	q := NewQBBR(Config{Seed: 1, ProbeRTTInterval: 500 * time.Millisecond})
	p := newPath(q, 50, 20*time.Millisecond, 1)
	p.run(time.Second)
	before := q.minRTT
	p.baseRTT = 30 * time.Millisecond // the route got longer
	changes := watchQBBR(q, p)
	p.run(3 * time.Second)
	n := 0
	for _, c := range *changes {
		if c.to == "probe_rtt" {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("%d ProbeRTTs after the path changed", n)
	}
	if q.minRTT < before+8*time.Millisecond {
		t.Fatalf("min RTT %v still the old %v", q.minRTT, before)
	}
	if q.probeRTT.lastDuration > 3*p.baseRTT {
		t.Fatalf("fruitless ProbeRTT lasted %v", q.probeRTT.lastDuration)
	}
}

// utilizationAndQueue runs qbbr over the test path and returns goodput over
// link rate and the median queueing delay over min RTT.
func utilizationAndQueue(t *testing.T, rtt time.Duration, loss float64, after bool) (float64, float64, *QBBR) {
	t.Helper()
	q := NewQBBR(Config{Seed: 1})
	p := newPath(q, 100, rtt, 1)
	if after {
		p.lossAfter = loss
	} else {
		p.lossBefore = loss
	}
	p.run(2 * time.Second)
	var qs []time.Duration
	p.onEvent = func(p *path, _ *CongestionEvent) { qs = append(qs, p.queueDelay()) }
	g := p.goodput(4 * time.Second)
	sort.Slice(qs, func(i, j int) bool { return qs[i] < qs[j] })
	return g / p.rate, float64(qs[len(qs)/2]) / float64(rtt), q
}

func TestQBBRCompensatesNoiseLossBeforeBottleneck(t *testing.T) {
	util, _, q := utilizationAndQueue(t, 20*time.Millisecond, 0.3, false)
	if util < 0.85 {
		t.Fatalf("utilization %.2f at 30%% loss before the bottleneck", util)
	}
	st := q.Stats()
	if st.NoiseLoss < 0.25 || st.CongestedLoss > 0.03 {
		t.Fatalf("loss split noise %.3f congestion %.3f, want ~0.3 noise", st.NoiseLoss, st.CongestedLoss)
	}
	if st.PacingGain < 1.2 {
		t.Fatalf("pacing gain %.2f not compensated", st.PacingGain)
	}
}

func TestQBBRLossAfterBottleneckDoesNotBuildQueue(t *testing.T) {
	util, q50, _ := utilizationAndQueue(t, 20*time.Millisecond, 0.3, true)
	if util < 0.85*0.7 {
		t.Fatalf("goodput %.2f of the link at 30%% loss after the bottleneck, want >= %.2f", util, 0.85*0.7)
	}
	if q50 > 0.1 {
		t.Fatalf("median queueing delay %.2f of min RTT", q50)
	}
}

func TestQBBRNoBufferbloatWithoutLoss(t *testing.T) {
	util, q50, _ := utilizationAndQueue(t, 20*time.Millisecond, 0, false)
	if util < 0.95 || q50 > 0.1 {
		t.Fatalf("utilization %.3f, median queue %.2f of min RTT", util, q50)
	}
}

func TestQBBRBacksOffForCrossTraffic(t *testing.T) {
	q := NewQBBR(Config{Seed: 1})
	p := newPath(q, 100, 20*time.Millisecond, 1)
	p.run(2 * time.Second)
	// Unresponsive traffic takes 60% of the link.
	p.crossRate = 0.6 * p.rate
	p.run(time.Second)
	sent, dropped := p.crossSent, p.crossDropped
	g := p.goodput(3 * time.Second)
	if g > 0.5*p.rate {
		t.Fatalf("qbbr kept %.0f%% of the link next to 60%% cross traffic", 100*g/p.rate)
	}
	if g < 0.25*p.rate {
		t.Fatalf("qbbr fell to %.0f%% of the link, 40%% is free", 100*g/p.rate)
	}
	if lossX := float64(p.crossDropped-dropped) / float64(p.crossSent-sent); lossX > 0.05 {
		t.Fatalf("cross traffic lost %.1f%%: qbbr keeps the queue overflowing", 100*lossX)
	}
}

func TestQBBRCongestionCutsEstimateAndDrains(t *testing.T) {
	q := NewQBBR(Config{Seed: 1})
	p := newPath(q, 100, 20*time.Millisecond, 1)
	p.run(time.Second)
	if q.mode != &q.probeBW {
		t.Fatalf("mode %v", q.mode)
	}
	bw := q.bandwidth()
	q.round.count++ // a fresh round, so the cut is not suppressed
	q.probeBW.update(p.now, &RateSample{LostBytes: 1200, LostPackets: 1}, 1200)
	if got := q.bandwidth(); got > qbbrCongestionBeta*bw*1.001 {
		t.Fatalf("estimate %.0f after congestion, was %.0f", got, bw)
	}
	if q.probeBW.idx != qbbrPhaseDown {
		t.Fatalf("phase %d after congestion, want the drain phase", q.probeBW.idx)
	}
	// Losses left over from Startup's overshoot were answered by Drain.
	q.round.count++
	q.probeBW.setPhase(p.now, 2)
	before := q.bandwidth()
	rs := &RateSample{LostBytes: 1200, LostPackets: 1}
	rs.LostByClass[classStartup] = 1200
	q.probeBW.update(p.now, rs, 1200)
	if q.bandwidth() != before {
		t.Fatalf("a Startup packet's loss cut the estimate from %.0f to %.0f", before, q.bandwidth())
	}
}

// TestQBBRAppLimitedCongestionHoldsRate: congestion loss in ProbeBW caps
// the estimate at the last round's delivery (floored at 0.8 of the
// estimate), 15% below it for a sender that fills the pipe but not below
// it for one short of data: cutting a media flow below its own demand only
// drops its frames, and the smaller next round cut again.
func TestQBBRAppLimitedCongestionHoldsRate(t *testing.T) {
	for _, appLimited := range []bool{false, true} {
		q := NewQBBR(Config{Seed: 1})
		q.setMode(t0, &q.probeBW)
		q.round.count = 5
		q.bw.Update(q.round.count, 1e6)
		q.lastRoundRate = 0.9e6
		q.probeBW.update(t0, &RateSample{IsAppLimited: appLimited, LostBytes: 1200}, 1200)
		want := 0.85 * 0.9e6
		if appLimited {
			want = 0.9e6
		}
		if math.Abs(q.bwLo-want) > 1 {
			t.Errorf("app-limited %v: estimate capped at %.0f, want %.0f", appLimited, q.bwLo, want)
		}
	}
}
