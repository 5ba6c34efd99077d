package sfu

import (
	"testing"
	"time"
)

// TestProberConfirmsThenFloors: a subscriber held below what its
// preferences want probes for probeDuration, padding up to the goal; when
// the estimate does not fall meanwhile, the goal becomes the budget, until
// the estimate catches up.
func TestProberConfirmsThenFloors(t *testing.T) {
	var p prober
	t0 := time.Unix(1000, 0)
	in := probeInput{estimate: 600_000, want: 2_000_000, sending: 300_000}
	budget, pad := p.tick(t0, in)
	if budget != 600_000 || pad != 1_800_000-300_000 {
		t.Fatalf("start: budget %d padding %d; want 600000 and a probe to three times the estimate", budget, pad)
	}
	for dt := 200 * time.Millisecond; dt < probeDuration; dt += 200 * time.Millisecond {
		in.estimate += 10_000           // GCC grows a little meanwhile
		in.padded += int64(pad / 8 / 5) // the padder sends what was asked
		if _, pad = p.tick(t0.Add(dt), in); pad == 0 {
			t.Fatalf("the probe stopped at %v", dt)
		}
	}
	in.padded += int64(pad / 8 / 5)
	budget, pad = p.tick(t0.Add(probeDuration), in)
	if budget != 1_800_000 || pad != 0 {
		t.Fatalf("after the probe: budget %d padding %d; want the probed 1.8 Mbit/s, no padding", budget, pad)
	}
	// The next probe waits probeInterval, then goes on from the floor.
	if _, pad = p.tick(t0.Add(probeDuration+probeInterval/2), in); pad != 0 {
		t.Fatal("probed again before probeInterval")
	}
	in.sending = 1_700_000
	in.want = 2_500_000
	budget, pad = p.tick(t0.Add(probeDuration+probeInterval), in)
	if budget != 1_800_000 || pad != 2_500_000-1_700_000 {
		t.Fatalf("second probe: budget %d padding %d", budget, pad)
	}
	// The estimate catching up replaces the floor.
	in.estimate = 2_600_000
	p.probing = false
	if budget, _ = p.tick(t0.Add(10*time.Second), in); budget != 2_600_000 || p.floor != 0 {
		t.Fatalf("budget %d floor %d once the estimate passed the floor", budget, p.floor)
	}
}

// TestProberBacksOff: a probe during which the estimate falls fails, drops
// the padding, and the next probe waits a back-off that doubles per failure.
// Congestion clears a probed floor.
func TestProberBacksOff(t *testing.T) {
	var p prober
	now := time.Unix(1000, 0)
	in := probeInput{estimate: 500_000, want: 2_000_000, sending: 300_000}
	for i, want := range []time.Duration{probeMinBackoff, 2 * probeMinBackoff, 4 * probeMinBackoff} {
		if _, pad := p.tick(now, in); pad == 0 {
			t.Fatalf("failure %d: no probe started", i)
		}
		now = now.Add(400 * time.Millisecond)
		fell := in
		fell.estimate = 400_000
		if _, pad := p.tick(now, fell); pad != 0 {
			t.Fatalf("failure %d: padding %d after the estimate fell", i, pad)
		}
		if p.next.Sub(now) != want {
			t.Fatalf("failure %d: back-off %v, want %v", i, p.next.Sub(now), want)
		}
		now = p.next
	}
	p.floor = 1_500_000
	in.congested = true
	if budget, pad := p.tick(now, in); budget != in.estimate || pad != 0 || p.floor != 0 {
		t.Fatalf("congested: budget %d padding %d floor %d", budget, pad, p.floor)
	}
	// A probe whose padding could not go out (no RTX) proves nothing.
	var r prober
	in = probeInput{estimate: 500_000, want: 2_000_000, sending: 300_000}
	start := now
	r.tick(start, in)
	if budget, _ := r.tick(start.Add(probeDuration), in); budget != in.estimate || r.next.Sub(start.Add(probeDuration)) != probeMinBackoff {
		t.Fatalf("an unsent probe: budget %d, next probe in %v", budget, r.next.Sub(start.Add(probeDuration)))
	}
	// Nothing to gain: no probe.
	var q prober
	if _, pad := q.tick(now, probeInput{estimate: 3_000_000, want: 2_000_000, sending: 1_800_000}); pad != 0 {
		t.Fatal("probed although the estimate covers what is wanted")
	}
}

func TestDemand(t *testing.T) {
	tracks := []allocTrack{
		{maxLayer: 1, bitrates: []int{150_000, 1_000_000}, current: 0}, // wants up: with margin
		{maxLayer: 1, bitrates: []int{150_000, 1_000_000}, current: 1}, // there
		{maxLayer: 1, bitrates: []int{150_000, 0}, current: 0},         // large unavailable
		{maxLayer: 0, bitrates: []int{150_000, 1_000_000}, current: -1},
	}
	want, sending := demand(tracks, defaultSelectorParams)
	if want != 1_250_000+1_000_000+150_000+int(150_000*1.25) || sending != 150_000+1_000_000+150_000 {
		t.Fatalf("demand: want %d sending %d", want, sending)
	}
}
