package netsim

import (
	"math"
	"testing"
	"time"
)

func TestLinkQueueTailDropsAtConfiguredSize(t *testing.T) {
	l := NewLink(LinkConfig{Rate: 8e6, QueueBytes: 12000}, 1) // 1 byte/µs
	now := Epoch()
	var fates []Fate
	for range 15 {
		_, f := l.Enqueue(now, 1200)
		fates = append(fates, f)
	}
	for i, f := range fates {
		want := Delivered
		if i >= 10 {
			want = QueueDrop
		}
		if f != want {
			t.Fatalf("packet %d: %v, want %v (all: %v)", i, f, want, fates)
		}
	}
	st := l.Stats()
	if st.QueueDropped != 5 || st.Delivered != 10 || st.QueueDroppedBytes != 6000 {
		t.Fatalf("stats %+v", st)
	}
	// The tenth packet waited for nine transmissions of 1200 µs.
	if got := st.QueueDelay.Max; got != 9*1200*time.Microsecond {
		t.Fatalf("max queue delay %v, want 10.8ms", got)
	}
	// Once the queue drains by one packet there is room again.
	if _, f := l.Enqueue(now.Add(1200*time.Microsecond), 1200); f != Delivered {
		t.Fatalf("after one transmission time: %v", f)
	}
}

func TestLinkBottleneckSpacesPackets(t *testing.T) {
	l := NewLink(LinkConfig{Rate: 1e6, Delay: 10 * time.Millisecond}, 1)
	now := Epoch()
	a1, _ := l.Enqueue(now, 125) // 1 ms at 1 Mbit/s
	a2, _ := l.Enqueue(now, 125)
	if want := now.Add(11 * time.Millisecond); !a1.Equal(want) {
		t.Fatalf("first arrival %v, want %v", a1.Sub(now), want.Sub(now))
	}
	if d := a2.Sub(a1); d != time.Millisecond {
		t.Fatalf("spacing %v, want 1ms", d)
	}
}

func TestLinkJitterDistribution(t *testing.T) {
	const n = 20000
	delay, jitter := 50*time.Millisecond, 10*time.Millisecond
	l := NewLink(LinkConfig{Delay: delay, Jitter: jitter, Reorder: true}, 7)
	now := Epoch()
	var sum, sumSq float64
	reordered := 0
	var last time.Time
	for i := range n {
		sent := now.Add(time.Duration(i) * 100 * time.Microsecond)
		at, f := l.Enqueue(sent, 100)
		if f != Delivered {
			t.Fatal(f)
		}
		d := at.Sub(sent)
		if d < delay-jitter || d > delay+jitter {
			t.Fatalf("delay %v outside %v±%v", d, delay, jitter)
		}
		if at.Before(last) {
			reordered++
		}
		last = at
		ms := d.Seconds() * 1000
		sum += ms
		sumSq += ms * ms
	}
	mean := sum / n
	std := math.Sqrt(sumSq/n - mean*mean)
	if math.Abs(mean-50) > 0.3 {
		t.Errorf("mean delay %.2fms, want 50±0.3", mean)
	}
	if want := 10 / math.Sqrt(3); math.Abs(std-want) > 0.3 {
		t.Errorf("delay std %.2fms, want uniform's %.2f±0.3", std, want)
	}
	if reordered == 0 {
		t.Error("Reorder set and 100µs spacing under ±10ms jitter, yet nothing reordered")
	}
}

func TestLinkJitterWithoutReorderKeepsOrder(t *testing.T) {
	delay, jitter := 50*time.Millisecond, 10*time.Millisecond
	l := NewLink(LinkConfig{Delay: delay, Jitter: jitter}, 7)
	now := Epoch()
	var last time.Time
	for i := range 5000 {
		sent := now.Add(time.Duration(i) * 100 * time.Microsecond)
		at, _ := l.Enqueue(sent, 100)
		if at.Before(last) {
			t.Fatalf("packet %d arrives before its predecessor", i)
		}
		if d := at.Sub(sent); d < delay-jitter {
			t.Fatalf("delay %v below %v", d, delay-jitter)
		}
		last = at
	}
}

// lossRuns feeds n packets through a link and returns the loss fraction and
// the mean length of runs of consecutive losses.
func lossRuns(l *Link, n int) (loss, meanBurst float64) {
	now := Epoch()
	lost, runs, run := 0, 0, 0
	for range n {
		if _, f := l.Enqueue(now, 100); f == Lost {
			lost++
			run++
		} else if run > 0 {
			runs++
			run = 0
		}
	}
	if run > 0 {
		runs++
	}
	return float64(lost) / float64(n), float64(lost) / float64(max(runs, 1))
}

func TestLossModels(t *testing.T) {
	mustBurst := func(l, b float64) LossModel {
		m, err := Burst(l, b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name      string
		model     LossModel
		wantLoss  float64
		wantBurst float64
	}{
		{"none", LossModel{}, 0, 0},
		{"bernoulli 5%", Bernoulli(0.05), 0.05, 1 / 0.95},
		{"bernoulli 20%", Bernoulli(0.2), 0.2, 1 / 0.8},
		{"bernoulli 50%", Bernoulli(0.5), 0.5, 2},
		{"gilbert 10% burst 4", mustBurst(0.1, 4), 0.1, 4},
		{"gilbert 30% burst 2", mustBurst(0.3, 2), 0.3, 2},
		{"gilbert 50% burst 10", mustBurst(0.5, 10), 0.5, 10},
		// A full Gilbert-Elliott chain: losses in both states; bursts are
		// not one sojourn, so only the mean is checked.
		{"elliott", GE(GilbertElliott{P: 0.02, R: 0.2, LossGood: 0.01, LossBad: 0.6}), 0.02/0.22*0.6 + 0.2/0.22*0.01, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.model.MeanLoss(); math.Abs(got-tc.wantLoss) > 1e-9 {
				t.Fatalf("MeanLoss() = %v, want %v", got, tc.wantLoss)
			}
			l := NewLink(LinkConfig{Loss: tc.model}, 42)
			loss, burst := lossRuns(l, 400000)
			if math.Abs(loss-tc.wantLoss) > 0.01 {
				t.Errorf("loss %.4f, want %.4f", loss, tc.wantLoss)
			}
			if tc.wantBurst > 0 && math.Abs(burst-tc.wantBurst)/tc.wantBurst > 0.05 {
				t.Errorf("mean burst %.3f, want %.3f", burst, tc.wantBurst)
			}
		})
	}
}

func TestBurstRejectsImpossibleChains(t *testing.T) {
	for _, c := range [][2]float64{{0.5, 0.5}, {0.8, 2}, {1, 3}} {
		if _, err := Burst(c[0], c[1]); err == nil {
			t.Errorf("Burst(%v, %v) accepted", c[0], c[1])
		}
	}
	if m, err := Burst(0, 3); err != nil || m.Kind != LossNone {
		t.Errorf("Burst(0, 3) = %v, %v; want no loss", m, err)
	}
}

func TestLinkSetConfigAppliesToNextPacket(t *testing.T) {
	l := NewLink(LinkConfig{Delay: 10 * time.Millisecond}, 1)
	now := Epoch()
	a1, _ := l.Enqueue(now, 100)
	l.SetConfig(LinkConfig{Delay: 100 * time.Millisecond, Loss: Bernoulli(1)})
	if _, f := l.Enqueue(now, 100); f != Lost {
		t.Fatalf("after SetConfig with 100%% loss: %v", f)
	}
	l.SetConfig(LinkConfig{Delay: 100 * time.Millisecond})
	a3, _ := l.Enqueue(now, 100)
	if a1.Sub(now) != 10*time.Millisecond || a3.Sub(now) != 100*time.Millisecond {
		t.Fatalf("delays %v then %v", a1.Sub(now), a3.Sub(now))
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h DelayHistogram
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.01, 10 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if got > c.want || float64(got) < 0.96*float64(c.want) {
			t.Errorf("q%.2f = %v, want within 4%% below %v", c.q, got, c.want)
		}
	}
	if h.Max != time.Second || h.Mean() != 500500*time.Microsecond {
		t.Errorf("max %v mean %v", h.Max, h.Mean())
	}
	for ns := uint64(0); ns < 1<<20; ns += 37 {
		if lo := bucketLow(bucketOf(ns)); lo > ns || bucketOf(lo) != bucketOf(ns) {
			t.Fatalf("bucket of %d has low edge %d", ns, lo)
		}
	}
}
