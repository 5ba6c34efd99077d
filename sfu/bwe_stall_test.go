package sfu

import (
	"testing"
	"time"
)

// stallRun feeds a core 100 ms reports of 17 packets (1.6 Mbit/s) for d.
// extra(sent) is each packet's delay beyond the path's 30 ms, lost(sent, k)
// whether packet k of a report is lost, and stall(now) whether the node's
// stall watcher reported a stall ending at now. It returns the estimate
// after every report and whether overuse was seen at or after from.
func stallRun(initial int, d, from time.Duration, extra func(time.Duration) time.Duration,
	lost func(time.Duration, int) bool, stall func(time.Duration) bool) (est []int, overuse bool) {
	b := newBWECore(initial, 100_000, 20_000_000)
	for now := 100 * time.Millisecond; now <= d; now += 100 * time.Millisecond {
		if stall(now) {
			b.stalled(now)
		}
		var pkts []ackedPacket
		for k := range 17 {
			s := now - 100*time.Millisecond + time.Duration(k)*6*time.Millisecond
			pkts = append(pkts, ackedPacket{sent: s, arrived: s + 30*time.Millisecond + extra(s), size: 1200, lost: lost(s, k)})
		}
		b.feedback(now, pkts)
		est = append(est, b.target())
		if o, _ := b.evidence(); o && now >= from {
			overuse = true
		}
	}
	return est, overuse
}

// TestBWEHoldsDelayAroundLocalStall: a delay that builds from 2 s to 3.5 s
// like a queue is congestion, unless the node's own process stalled then
// (stalled): then the delay is held — no overuse, no decrease, no growth —
// while loss still lowers the estimate, and a queue still there after
// bweStallHold counts again.
func TestBWEHoldsDelayAroundLocalStall(t *testing.T) {
	const start, end = 2 * time.Second, 3500 * time.Millisecond
	ramp := func(s time.Duration) time.Duration { // 200 ms more per second
		if s < start || s >= end {
			return 0
		}
		return (s - start) / 5
	}
	never := func(time.Duration) bool { return false }
	noLoss := func(time.Duration, int) bool { return false }
	during := func(now time.Duration) bool { return now >= start && now <= end }
	at := func(est []int, d time.Duration) int { return est[d/(100*time.Millisecond)-1] }

	// Without a local stall the ramp is a queue: overuse, and a decrease.
	est, overuse := stallRun(2_000_000, 5*time.Second, 0, ramp, noLoss, never)
	if !overuse || at(est, 3500*time.Millisecond) >= at(est, start) {
		t.Fatalf("no stall: overuse %v, estimate %d at 2 s, %d at 3.5 s; want overuse and a decrease",
			overuse, at(est, start), at(est, 3500*time.Millisecond))
	}

	// The watcher saw the process stall throughout: the delay is held.
	est, overuse = stallRun(2_000_000, 6*time.Second, 0, ramp, noLoss, during)
	if overuse {
		t.Fatal("overuse from a delay the node's own stall explains")
	}
	before := at(est, start)
	for d := start; d <= end+bweStallHold; d += 100 * time.Millisecond {
		if e := at(est, d); e != before {
			t.Fatalf("estimate %d at %v, %d when the stall began: a held report moved it", e, d, before)
		}
	}
	if at(est, 6*time.Second) <= before {
		t.Fatalf("estimate %d at 6 s, %d before the stall: it did not grow again after the hold", at(est, 6*time.Second), before)
	}

	// Loss during the stall still counts.
	lossy := func(s time.Duration, k int) bool { return s >= start && s < end && k%4 == 0 }
	est, _ = stallRun(2_000_000, 4*time.Second, 0, ramp, lossy, during)
	if at(est, 3500*time.Millisecond) >= before {
		t.Fatalf("estimate %d with 25%% loss during the stall, %d before: loss must count", at(est, 3500*time.Millisecond), before)
	}

	// A queue that outlasts the stall by more than bweStallHold is congestion.
	long := func(s time.Duration) time.Duration {
		if s < start {
			return 0
		}
		return (s - start) / 5
	}
	stallOnce := func(now time.Duration) bool { return now == start+300*time.Millisecond }
	_, overuse = stallRun(2_000_000, 5*time.Second, start+300*time.Millisecond+bweStallHold, long, noLoss, stallOnce)
	if !overuse {
		t.Fatal("a queue still building after the stall and its hold was not overuse")
	}
}
