package cc

import (
	"math"
	"testing"
	"time"
)

// bbr1Path runs a BBR1 over a 10 Mbit/s, 20 ms path with a deep buffer.
func bbr1Path(t *testing.T, cfg Config) (*BBR1, *path) {
	t.Helper()
	b := NewBBR1(cfg)
	return b, newPath(b, 10, 20*time.Millisecond, 4)
}

type modeChange struct {
	from, to bbrMode
	round    int64
	inFlight int
	at       time.Time
}

// watchModes records every mode change as the path runs.
func watchModes(b *BBR1, p *path) *[]modeChange {
	var changes []modeChange
	last := b.mode
	p.onEvent = func(p *path, _ *CongestionEvent) {
		if b.mode != last {
			changes = append(changes, modeChange{from: last, to: b.mode, round: b.roundCount, inFlight: p.inFlight, at: p.now})
			last = b.mode
		}
	}
	return &changes
}

func TestBBR1StartupGainsAndExitAfterThreeFlatRounds(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 1})
	if b.pacingGain != bbr1HighGain || b.cwndGain != bbr1HighGain {
		t.Fatalf("startup gains %v/%v, want 2.885", b.pacingGain, b.cwndGain)
	}
	// Record the bandwidth estimate at each round start while in Startup.
	var bws []float64
	var exitRound int64
	p.onEvent = func(_ *path, _ *CongestionEvent) {
		if b.roundStart && b.mode == bbrStartup {
			bws = append(bws, b.bw.Get())
		}
		if b.mode != bbrStartup && exitRound == 0 {
			exitRound = b.roundCount
		}
	}
	p.run(2 * time.Second)
	if exitRound == 0 {
		t.Fatal("never left Startup")
	}
	if !b.fullBWReached {
		t.Fatal("left Startup without full bandwidth")
	}
	// The rounds before the exit grew the estimate by less than 25% over
	// the round that last set the full-bandwidth reference. (The exit round
	// itself is not recorded: by then the mode is Drain.)
	n := len(bws)
	if n < 3 {
		t.Fatalf("only %d startup rounds", n)
	}
	if grow := bws[n-1] / bws[n-3]; grow >= bbr1FullBWThresh {
		t.Fatalf("exited while still growing %.2fx over three rounds", grow)
	}
	if est := b.bw.Get(); math.Abs(est-p.rate)/p.rate > 0.05 {
		t.Fatalf("bandwidth estimate %.0f, link %.0f", est, p.rate)
	}
}

func TestBBR1DrainUntilInflightIsOneBDP(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 1})
	changes := watchModes(b, p)
	sawDrainGain := false
	prev := p.onEvent
	p.onEvent = func(p *path, e *CongestionEvent) {
		prev(p, e)
		if b.mode == bbrDrain && b.pacingGain == bbr1DrainGain && b.cwndGain == bbr1HighGain {
			sawDrainGain = true
		}
	}
	p.run(2 * time.Second)
	var drainExit *modeChange
	for i, c := range *changes {
		if c.from == bbrDrain {
			drainExit = &(*changes)[i]
			break
		}
	}
	if drainExit == nil || drainExit.to != bbrProbeBW {
		t.Fatalf("no Drain -> ProbeBW transition in %+v", *changes)
	}
	if !sawDrainGain {
		t.Fatal("Drain did not pace at 1/2.885 with cwnd gain 2.885")
	}
	if limit := b.inflightTarget(b.bw.Get(), 1) + 2*b.cfg.MSS; drainExit.inFlight > limit {
		t.Fatalf("left Drain with %d in flight, BDP target %d", drainExit.inFlight, limit)
	}
}

func TestBBR1GainCycleOrderAndSeededStart(t *testing.T) {
	startPhase := func(seed uint64) (int, []float64) {
		b, p := bbr1Path(t, Config{Seed: seed})
		first := -1
		var gains []float64
		lastIdx := -1
		lastGain := 0.0
		var phaseStart time.Time
		p.onEvent = func(p *path, _ *CongestionEvent) {
			if b.mode != bbrProbeBW {
				return
			}
			if first < 0 {
				first = b.cycleIdx
			}
			if b.cycleIdx != lastIdx {
				if lastIdx >= 0 && lastGain == 1 && p.now.Sub(phaseStart) < b.minRTT {
					t.Errorf("a 1.0 phase ended after %v, shorter than min RTT", p.now.Sub(phaseStart))
				}
				gains = append(gains, b.pacingGain)
				lastIdx, lastGain = b.cycleIdx, b.pacingGain
				phaseStart = p.now
			}
		}
		p.run(3 * time.Second)
		return first, gains
	}
	seen := map[int]bool{}
	for seed := uint64(0); seed < 20; seed++ {
		first, gains := startPhase(seed)
		if first == 1 {
			t.Fatalf("seed %d started ProbeBW in the 0.75 drain phase", seed)
		}
		seen[first] = true
		again, _ := startPhase(seed)
		if again != first {
			t.Fatalf("seed %d: start phase %d then %d", seed, first, again)
		}
		// After a 1.25 phase comes 0.75 then six 1.0 phases.
		for i, g := range gains {
			if g == 1.25 && i+7 < len(gains) {
				want := []float64{1.25, 0.75, 1, 1, 1, 1, 1, 1}
				for j, w := range want {
					if gains[i+j] != w {
						t.Fatalf("seed %d: cycle %v, want %v", seed, gains[i:i+8], want)
					}
				}
			}
		}
	}
	if len(seen) < 3 {
		t.Fatalf("start phase not randomised: %v", seen)
	}
}

func TestBBR1ProbeRTTAfterMinRTTExpires(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 3, ProbeRTTInterval: 2 * time.Second})
	changes := watchModes(b, p)
	maxCwndInProbeRTT := 0
	prev := p.onEvent
	p.onEvent = func(p *path, e *CongestionEvent) {
		prev(p, e)
		if b.mode == bbrProbeRTT {
			maxCwndInProbeRTT = max(maxCwndInProbeRTT, b.cwnd)
		}
	}
	p.run(3 * time.Second)
	var enter, exit *modeChange
	for i, c := range *changes {
		if c.to == bbrProbeRTT && enter == nil {
			enter = &(*changes)[i]
		}
		if c.from == bbrProbeRTT && exit == nil {
			exit = &(*changes)[i]
		}
	}
	if enter == nil || exit == nil {
		t.Fatalf("no ProbeRTT round trip in %+v", *changes)
	}
	if enter.from != bbrProbeBW || exit.to != bbrProbeBW {
		t.Fatalf("ProbeRTT entered from %v, left to %v", enter.from, exit.to)
	}
	if d := exit.at.Sub(enter.at); d < bbr1ProbeRTTTime {
		t.Fatalf("ProbeRTT lasted %v, want at least 200 ms", d)
	}
	if maxCwndInProbeRTT > bbr1CwndMinPackets*b.cfg.MSS {
		t.Fatalf("cwnd %d in ProbeRTT, want at most 4 packets", maxCwndInProbeRTT)
	}
	if b.cwnd < b.bdp(b.bw.Get(), 1) {
		t.Fatalf("cwnd %d not restored after ProbeRTT", b.cwnd)
	}
}

func TestBBR1ProbeRTTReturnsToStartupWhenPipeNotFull(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 3, ProbeRTTInterval: time.Second})
	// 4 Mbit/s of a 10 Mbit/s link: app-limited, so the pipe is never
	// found full, yet never idle (an idle restart would skip ProbeRTT).
	p.appRate = 500e3
	changes := watchModes(b, p)
	p.run(3 * time.Second)
	var sawEnter, sawExit bool
	for _, c := range *changes {
		if c.to == bbrProbeRTT && c.from == bbrStartup {
			sawEnter = true
		}
		if c.from == bbrProbeRTT && c.to == bbrStartup {
			sawExit = true
		}
	}
	if !sawEnter || !sawExit {
		t.Fatalf("want Startup -> ProbeRTT -> Startup, got %+v", *changes)
	}
}

func TestBBR1RecoveryConservesPacketsThenRestores(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 1})
	p.run(2 * time.Second)
	if b.mode != bbrProbeBW {
		t.Fatalf("mode %v", b.mode)
	}
	before := b.cwnd
	now := p.now.Add(time.Millisecond)
	pn := p.pn
	// Pretend three packets in flight: one is lost, one acked.
	b.OnPacketSent(now, SentPacket{Number: pn, Bytes: 1200, BytesInFlight: 1200})
	b.OnPacketSent(now, SentPacket{Number: pn + 1, Bytes: 1200, BytesInFlight: 2400})
	b.OnPacketSent(now, SentPacket{Number: pn + 2, Bytes: 1200, BytesInFlight: 3600})
	b.OnCongestionEvent(now.Add(20*time.Millisecond), &CongestionEvent{
		Acked:         []Packet{{Number: pn + 1, Bytes: 1200, SentTime: now}},
		Lost:          []Packet{{Number: pn, Bytes: 1200, SentTime: now}},
		PriorInFlight: 3600, BytesInFlight: 1200,
		RTT: RTTStats{Latest: 20 * time.Millisecond},
	})
	if b.caState != caRecovery || !b.packetConservation {
		t.Fatalf("state %v conservation %v", b.caState, b.packetConservation)
	}
	if want := 1200 + 1200; b.cwnd != want {
		t.Fatalf("cwnd %d in conservation, want inflight+acked = %d", b.cwnd, want)
	}
	if b.priorCwnd != before {
		t.Fatalf("prior cwnd %d, want %d", b.priorCwnd, before)
	}
	// A packet sent after recovery began is acked with no loss: restore.
	b.OnPacketSent(now.Add(21*time.Millisecond), SentPacket{Number: pn + 3, Bytes: 1200, BytesInFlight: 2400})
	b.OnCongestionEvent(now.Add(41*time.Millisecond), &CongestionEvent{
		Acked:         []Packet{{Number: pn + 2, Bytes: 1200}, {Number: pn + 3, Bytes: 1200}},
		PriorInFlight: 2400, BytesInFlight: 0,
		RTT: RTTStats{Latest: 20 * time.Millisecond},
	})
	if b.caState != caOpen {
		t.Fatal("still in recovery")
	}
	// Restored to the saved window, then grown by the ACK but capped by the
	// target of the current phase.
	target := b.quantizationBudget(b.bdp(b.bandwidth(), b.cwndGain) + b.agg.allowance(b.bandwidth()))
	if want := min(before+2400, target); b.cwnd != want {
		t.Fatalf("cwnd %d after recovery, want %d (saved %d, target %d)", b.cwnd, want, before, target)
	}
}

func TestBBR1PersistentCongestionThenRestore(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 1})
	p.run(2 * time.Second)
	before := b.cwnd
	b.OnPersistentCongestion(p.now)
	if b.cwnd != b.cfg.MSS || b.caState != caLoss {
		t.Fatalf("after persistent congestion cwnd %d state %v", b.cwnd, b.caState)
	}
	if b.fullBW != 0 {
		t.Fatal("full-bandwidth search not restarted")
	}
	p.run(time.Second)
	if b.caState != caOpen || b.cwnd < before/2 {
		t.Fatalf("state %v cwnd %d (had %d)", b.caState, b.cwnd, before)
	}
}

func TestBBR1PolicerModelPinsRateUnderHeavyLoss(t *testing.T) {
	b, p := bbr1Path(t, Config{Seed: 1})
	p.lossBefore = 0.25
	used := false
	p.onEvent = func(_ *path, _ *CongestionEvent) {
		if b.lt.useBW {
			used = true
			if b.mode == bbrProbeBW && b.pacingGain != 1 {
				t.Fatalf("pacing gain %v while using the long-term rate", b.pacingGain)
			}
		}
	}
	p.run(10 * time.Second)
	if !used {
		t.Fatal("25% loss never engaged the long-term (policer) estimate")
	}
}

// TestBBR1LossCliff checks the behaviour the talk measured: BBRv1 keeps the
// link at moderate random loss and collapses around 20%.
func TestBBR1LossCliff(t *testing.T) {
	util := func(loss float64) float64 {
		b := NewBBR1(Config{Seed: 1})
		p := newPath(b, 100, 20*time.Millisecond, 1)
		p.lossBefore = loss
		p.run(2 * time.Second)
		return p.goodput(4*time.Second) / p.rate
	}
	if u := util(0.02); u < 0.85 {
		t.Fatalf("2%% loss: utilization %.2f, want >= 0.85", u)
	}
	if u := util(0.3); u > 0.2 {
		t.Fatalf("30%% loss: utilization %.2f, want the BBRv1 collapse (< 0.2)", u)
	}
}

// TestBBR1ConservationLeavesAPacket: entering recovery on the ACK of a small
// packet with nothing else in flight must still allow one full packet, or
// no ACK would ever come again.
func TestBBR1ConservationLeavesAPacket(t *testing.T) {
	b := NewBBR1(Config{MSS: 1400})
	b.OnPacketSent(t0, SentPacket{Number: 1, Bytes: 1400, BytesInFlight: 1400})
	b.OnPacketSent(t0, SentPacket{Number: 2, Bytes: 700, BytesInFlight: 2100})
	b.OnCongestionEvent(t0.Add(20*time.Millisecond), &CongestionEvent{
		Acked:         []Packet{{Number: 2, Bytes: 700, SentTime: t0}},
		Lost:          []Packet{{Number: 1, Bytes: 1400, SentTime: t0}},
		PriorInFlight: 2100, BytesInFlight: 0,
		RTT: RTTStats{Latest: 20 * time.Millisecond},
	})
	if !b.packetConservation || b.cwnd < 1400 {
		t.Fatalf("conservation %v, cwnd %d: less than one packet", b.packetConservation, b.cwnd)
	}
}
