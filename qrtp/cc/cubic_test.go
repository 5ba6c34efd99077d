package cc

import (
	"math"
	"testing"
	"time"
)

// cubicAfterLoss returns a CUBIC that just reduced from a 100-segment
// window (MSS 1000) at t0, and a function that feeds it one window of ACKs
// per rtt until the given time since the loss.
func cubicAfterLoss(t *testing.T, rtt time.Duration) (*Cubic, func(until time.Duration)) {
	t.Helper()
	c := NewCubic(Config{MSS: 1000, InitialWindow: 100})
	c.ssthresh = 50_000 // in congestion avoidance
	c.srtt = rtt
	pn := uint64(0)
	c.OnCongestionEvent(t0, &CongestionEvent{
		Lost: []Packet{{Number: pn, Bytes: 1000, SentTime: t0.Add(-rtt)}},
		RTT:  RTTStats{Smoothed: rtt},
	})
	if c.cwnd != 70_000 {
		t.Fatalf("cwnd after loss %d, want 70000", c.cwnd)
	}
	elapsed := time.Duration(0)
	feed := func(until time.Duration) {
		for elapsed < until {
			elapsed += rtt
			now := t0.Add(elapsed)
			n := c.cwnd / 1000
			for i := 0; i < n; i++ {
				pn++
				c.OnCongestionEvent(now, &CongestionEvent{
					Acked:         []Packet{{Number: pn, Bytes: 1000, SentTime: now.Add(-rtt / 2)}},
					PriorInFlight: c.cwnd,
					RTT:           RTTStats{Smoothed: rtt},
				})
			}
		}
	}
	return c, feed
}

func TestCubicFollowsTheCubicCurve(t *testing.T) {
	rtt := 100 * time.Millisecond
	c, feed := cubicAfterLoss(t, rtt)
	k := math.Cbrt(100 * (1 - cubicBeta) / cubicC) // 4.217 s
	want := func(at float64) float64 { return cubicC*math.Pow(at+rtt.Seconds()-k, 3) + 100 }
	checks := []float64{k / 2, k, k + 2}
	for _, at := range checks {
		feed(time.Duration(at * float64(time.Second)))
		got := float64(c.cwnd) / 1000
		if math.Abs(got-want(at))/want(at) > 0.03 {
			t.Fatalf("at t=%.2fs cwnd %.1f segments, want W_cubic = %.1f", at, got, want(at))
		}
	}
	if c.wMax != 100 {
		t.Fatalf("W_max %v", c.wMax)
	}
}

func TestCubicFastConvergence(t *testing.T) {
	c, feed := cubicAfterLoss(t, 100*time.Millisecond)
	feed(time.Second) // cwnd grows toward 100 but stays below it
	w := float64(c.cwnd) / 1000
	if w >= 100 {
		t.Fatalf("cwnd %.1f already at W_max", w)
	}
	now := t0.Add(2 * time.Second)
	c.OnCongestionEvent(now, &CongestionEvent{Lost: []Packet{{Number: 1 << 20, Bytes: 1000, SentTime: now}}})
	if want := w * (1 + cubicBeta) / 2; math.Abs(c.wMax-want) > 0.01 {
		t.Fatalf("W_max %.2f after a loss below the old peak, want %.2f", c.wMax, want)
	}
}

func TestCubicRenoFriendlyOnShortPaths(t *testing.T) {
	rtt := 5 * time.Millisecond
	c, feed := cubicAfterLoss(t, rtt)
	feed(2 * time.Second)
	// 400 RTTs: Reno-friendly growth (alpha ≈ 0.53, then 1 segment per RTT)
	// is well past what the cubic curve gives 2 s into a 4.2 s epoch.
	cubicW := c.wCubic(2 + rtt.Seconds())
	got := float64(c.cwnd) / 1000
	if got < cubicW+20 {
		t.Fatalf("cwnd %.1f, cubic curve %.1f: Reno-friendly region not used", got, cubicW)
	}
	if math.Abs(got-c.wEst) > 2 {
		t.Fatalf("cwnd %.1f, Reno estimate %.1f", got, c.wEst)
	}
}

func TestCubicSlowStartAndOneReductionPerRound(t *testing.T) {
	c := NewCubic(Config{MSS: 1000, InitialWindow: 10})
	c.OnCongestionEvent(t0.Add(10*time.Millisecond), &CongestionEvent{
		Acked:         []Packet{{Number: 1, Bytes: 1000, SentTime: t0}},
		PriorInFlight: 10_000, RTT: RTTStats{Smoothed: 10 * time.Millisecond},
	})
	if c.cwnd != 11_000 {
		t.Fatalf("slow start cwnd %d, want 11000", c.cwnd)
	}
	lossAt := t0.Add(20 * time.Millisecond)
	c.OnCongestionEvent(lossAt, &CongestionEvent{Lost: []Packet{{Number: 2, Bytes: 1000, SentTime: t0}}})
	if c.cwnd != 7700 {
		t.Fatalf("cwnd after loss %d, want 7700", c.cwnd)
	}
	c.OnCongestionEvent(lossAt.Add(time.Millisecond), &CongestionEvent{Lost: []Packet{{Number: 3, Bytes: 1000, SentTime: t0.Add(time.Millisecond)}}})
	if c.cwnd != 7700 {
		t.Fatalf("second loss from the same flight cut cwnd to %d", c.cwnd)
	}
	if c.Stats().State != "recovery" || c.PacingRate() <= 0 {
		t.Fatalf("stats %+v", c.Stats())
	}
}

func TestCubicDoesNotGrowWhenAppLimited(t *testing.T) {
	c := NewCubic(Config{MSS: 1000, InitialWindow: 10})
	c.OnCongestionEvent(t0.Add(10*time.Millisecond), &CongestionEvent{
		Acked:         []Packet{{Number: 1, Bytes: 1000, SentTime: t0}},
		PriorInFlight: 2000, RTT: RTTStats{Smoothed: 10 * time.Millisecond},
	})
	if c.cwnd != 10_000 {
		t.Fatalf("cwnd grew to %d with 2 of 10 packets in flight", c.cwnd)
	}
}
