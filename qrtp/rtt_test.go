package qrtp

import (
	"testing"
	"time"
)

func TestRTTEstimator(t *testing.T) {
	var r rttEstimator
	if r.srtt() != initialRTT {
		t.Fatal("initial")
	}
	r.update(100*time.Millisecond, 0)
	if r.smoothed != 100*time.Millisecond || r.variance != 50*time.Millisecond || r.min != 100*time.Millisecond {
		t.Fatalf("first sample: %+v", r)
	}
	// An ACK delay is subtracted only when that keeps the sample above min.
	r.update(120*time.Millisecond, 10*time.Millisecond)
	if want := (7*100*time.Millisecond + 110*time.Millisecond) / 8; r.smoothed != want {
		t.Fatalf("smoothed %v want %v", r.smoothed, want)
	}
	if want := (3*50*time.Millisecond + 10*time.Millisecond) / 4; r.variance != want {
		t.Fatalf("var %v want %v", r.variance, want)
	}
	r.update(101*time.Millisecond, 50*time.Millisecond) // delay ignored: 51 < min
	if r.latest != 101*time.Millisecond || r.min != 100*time.Millisecond {
		t.Fatalf("%+v", r)
	}
	r.update(80*time.Millisecond, 0)
	if r.min != 80*time.Millisecond {
		t.Fatalf("min %v", r.min)
	}
	if r.lossDelay() != max(r.latest, r.smoothed)*9/8 {
		t.Fatalf("loss delay %v", r.lossDelay())
	}
	if got := r.pto(25 * time.Millisecond); got != r.smoothed+4*r.variance+25*time.Millisecond {
		t.Fatalf("pto %v", got)
	}
}

func TestPacerRate(t *testing.T) {
	p := pacer{burst: time.Millisecond, mss: 1000}
	now := time.Unix(0, 0)
	const rate = 1e6 // bytes/s: one 1000-byte packet per ms
	sent := 0
	for i := 0; i < 100000; i++ {
		if p.allows(now, rate, 1000) {
			p.sent(1000, rate)
			sent++
			continue
		}
		now = p.next(now, rate, 1000)
	}
	// After the initial burst of 4 packets the bucket releases one per ms.
	elapsed := now.Sub(time.Unix(0, 0))
	if want := time.Duration(sent-4) * time.Millisecond; elapsed < want-time.Millisecond || elapsed > want+time.Millisecond {
		t.Fatalf("%d packets in %v", sent, elapsed)
	}
	if !p.allows(now, 0, 1<<20) {
		t.Fatal("rate 0 must not pace")
	}
}
