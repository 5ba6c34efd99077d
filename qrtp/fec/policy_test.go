package fec

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// simulateGroups draws groups from the chain (k sources spaced d apart, then
// m back-to-back repairs) and returns the fraction that lose more than m.
func simulateGroups(rng *rand.Rand, c chain, d, k, m, groups int) float64 {
	bad := rng.Float64() < c.bad()
	next := func() bool {
		if bad {
			bad = rng.Float64() >= c.r
		} else {
			bad = rng.Float64() < c.q
		}
		return bad
	}
	failed := 0
	for range groups {
		lost := 0
		for i := range k {
			if i > 0 {
				for range d - 1 {
					next() // another group's packet
				}
			}
			if next() {
				lost++
			}
		}
		for range m {
			if next() {
				lost++
			}
		}
		if lost > m {
			failed++
		}
	}
	return float64(failed) / float64(groups)
}

func TestFailTableMatchesSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		loss, burst float64
		d, k, m     int
	}{
		{0.05, 0, 1, 10, 2},
		{0.2, 0, 1, 10, 5},
		{0.5, 0, 1, 8, 8},
		{0.2, 4, 1, 10, 5},
		{0.2, 4, 4, 10, 5},
		{0.1, 3, 2, 16, 6},
	}
	for _, tc := range cases {
		c := gilbert(tc.loss, tc.burst)
		want := groupFailure(c, tc.d, tc.k, tc.m)
		got := simulateGroups(rng, c, tc.d, tc.k, tc.m, 40000)
		// Binomial standard error of the simulation, plus a little slack.
		se := math.Sqrt(want*(1-want)/40000) + 1e-4
		if math.Abs(got-want) > 4*se {
			t.Errorf("loss %.2f burst %.1f d=%d k=%d m=%d: DP %.5f, simulation %.5f", tc.loss, tc.burst, tc.d, tc.k, tc.m, want, got)
		}
	}
	// Independent loss must give the binomial tail exactly.
	var tail float64
	for j := 6; j <= 15; j++ {
		tail += binom(15, j) * math.Pow(0.2, float64(j)) * math.Pow(0.8, float64(15-j))
	}
	if got := groupFailure(gilbert(0.2, 0), 1, 10, 5); math.Abs(got-tail) > 1e-12 {
		t.Fatalf("Bernoulli k=10 m=5: %v, binomial tail %v", got, tail)
	}
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func TestPolicy(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name   string
		budget float64
		c      Conditions
		// want: off, or the overhead range and whether the target is met
		off           bool
		minOver       float64
		maxOver       float64
		meetsTarget   bool
		maxK          int
		minK          int
		wantInterleav int
	}{
		{name: "clean link", budget: 1, c: Conditions{Loss: 0.001, RTT: 200 * ms, Deadline: 300 * ms}, off: true},
		{name: "no deadline", budget: 1, c: Conditions{Loss: 0.2, RTT: 20 * ms}, off: true},
		{name: "deadline below one-way", budget: 1, c: Conditions{Loss: 0.2, RTT: 400 * ms, Deadline: 190 * ms}, off: true},
		{name: "no budget", budget: 0, c: Conditions{Loss: 0.2, RTT: 200 * ms, Deadline: 300 * ms}, off: true},
		{name: "5% short deadline", budget: 1, c: Conditions{Loss: 0.05, RTT: 200 * ms, Deadline: 300 * ms},
			minOver: 0.05, maxOver: 0.35, meetsTarget: true},
		{name: "5% long deadline: retransmission is enough", budget: 1, c: Conditions{Loss: 0.05, RTT: 20 * ms, Deadline: 300 * ms}, off: true},
		{name: "20% short deadline", budget: 1, c: Conditions{Loss: 0.2, RTT: 200 * ms, Deadline: 300 * ms},
			minOver: 0.4, maxOver: 0.8, meetsTarget: true},
		{name: "20% one retransmission round", budget: 1, c: Conditions{Loss: 0.2, RTT: 200 * ms, Deadline: 400 * ms},
			minOver: 0.3, maxOver: 0.6, meetsTarget: true},
		{name: "50% short deadline", budget: 3, c: Conditions{Loss: 0.5, RTT: 200 * ms, Deadline: 300 * ms},
			minOver: 1.5, maxOver: 2.5, meetsTarget: true},
		{name: "50% over a 50% budget: best effort", budget: 0.5, c: Conditions{Loss: 0.5, RTT: 200 * ms, Deadline: 300 * ms},
			minOver: 0.45, maxOver: 0.5},
		{name: "20% bursty costs more", budget: 3, c: Conditions{Loss: 0.2, MeanBurst: 4, RTT: 200 * ms, Deadline: 300 * ms},
			minOver: 0.8, maxOver: 2, meetsTarget: true},
		{name: "bursty with a known rate interleaves", budget: 3, c: Conditions{Loss: 0.2, MeanBurst: 4, RTT: 200 * ms, Deadline: 300 * ms, PacketRate: 5000},
			minOver: 0.5, maxOver: 2, meetsTarget: true, wantInterleav: 4},
		{name: "low packet rate keeps groups small", budget: 3, c: Conditions{Loss: 0.2, RTT: 200 * ms, Deadline: 300 * ms, PacketRate: 160},
			minOver: 0.5, maxOver: 2, meetsTarget: true, maxK: 6},
		// 25 fps frames of 6.2 packets at 155 packets/s: the rate alone
		// allows K=6, which splits every 7-packet frame into two groups.
		{name: "groups span a whole message", budget: 3, c: Conditions{Loss: 0.5, RTT: 200 * ms, Deadline: 400 * ms, PacketRate: 155, MessagePackets: 6.2},
			minOver: 2, maxOver: 3, meetsTarget: true, minK: 7, maxK: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := NewPolicy(PolicyConfig{Budget: tc.budget})
			p := pol.Choose(tc.c)
			if tc.off {
				if p.Enabled() {
					t.Fatalf("want no FEC, got K=%d M=%d", p.K, p.M)
				}
				return
			}
			if !p.Enabled() {
				t.Fatal("want FEC, got none")
			}
			if over := p.Overhead(); over < tc.minOver || over > tc.maxOver || over > tc.budget+1e-9 {
				t.Errorf("K=%d M=%d: overhead %.2f outside [%.2f, %.2f] or over budget %.2f", p.K, p.M, over, tc.minOver, tc.maxOver, tc.budget)
			}
			rounds := Rounds(tc.c.Deadline, tc.c.RTT, pol.Config().Margin)
			final := p.Residual * retransmitFailure(tc.c.Loss, rounds)
			if tc.meetsTarget && final > pol.Config().Target {
				t.Errorf("K=%d M=%d: predicted failure %.4f above target", p.K, p.M, final)
			}
			if !tc.meetsTarget && final <= pol.Config().Target {
				t.Errorf("budget-capped case claims to meet the target: %.4f", final)
			}
			if tc.maxK > 0 && p.K > tc.maxK {
				t.Errorf("K=%d beyond %d", p.K, tc.maxK)
			}
			if p.K*max(p.Interleave, 1) < tc.minK {
				t.Errorf("K=%d d=%d: groups shorter than a message of %d", p.K, p.Interleave, tc.minK)
			}
			if tc.wantInterleav > 0 && p.Interleave != tc.wantInterleav {
				t.Errorf("interleave %d, want %d", p.Interleave, tc.wantInterleav)
			}
			if p.MaxDelay <= 0 || len(p.Short) != p.K {
				t.Errorf("MaxDelay %v, Short %v", p.MaxDelay, p.Short)
			}
			for k := 1; k < len(p.Short); k++ {
				if p.Short[k] < 1 || p.Short[k] > p.M {
					t.Errorf("Short[%d] = %d outside [1, M=%d]", k, p.Short[k], p.M)
				}
			}
			// Whatever the model predicts must hold in simulation.
			if tc.meetsTarget {
				c := gilbert(tc.c.Loss, tc.c.MeanBurst)
				sim := simulateGroups(rand.New(rand.NewPCG(5, 6)), c, max(p.Interleave, 1), p.K, p.M, 20000)
				if sim > p.Residual*1.3+0.001 {
					t.Errorf("simulated group failure %.4f, predicted %.4f", sim, p.Residual)
				}
			}
		})
	}
}

func TestRounds(t *testing.T) {
	const ms = time.Millisecond
	for _, c := range []struct {
		deadline, rtt time.Duration
		want          int
	}{
		{300 * ms, 200 * ms, 0}, {320 * ms, 200 * ms, 1}, {400 * ms, 200 * ms, 1},
		{540 * ms, 200 * ms, 2}, {300 * ms, 20 * ms, 7},
	} {
		if got := Rounds(c.deadline, c.rtt, 20*ms); got != c.want {
			t.Errorf("Rounds(%v, %v) = %d, want %d", c.deadline, c.rtt, got, c.want)
		}
	}
}

func TestEstimator(t *testing.T) {
	for _, tc := range []struct {
		name        string
		loss, burst float64
	}{
		{"bernoulli 5%", 0.05, 0},
		{"bernoulli 30%", 0.3, 0},
		{"bursty 20% x4", 0.2, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gilbert(tc.loss, tc.burst)
			rng := rand.New(rand.NewPCG(1, 1))
			e := NewEstimator(20000)
			bad := false
			for range 100000 {
				if bad {
					bad = rng.Float64() >= c.r
				} else {
					bad = rng.Float64() < c.q
				}
				e.Observe(bad)
			}
			wantBurst := 1 / c.r
			if math.Abs(e.Loss()-tc.loss) > 0.15*tc.loss {
				t.Errorf("loss %.4f, want %.4f", e.Loss(), tc.loss)
			}
			if math.Abs(e.MeanBurst()-wantBurst) > 0.15*wantBurst {
				t.Errorf("mean burst %.3f, want %.3f", e.MeanBurst(), wantBurst)
			}
		})
	}
	// It forgets: after a clean stretch of several windows the loss is gone.
	e := NewEstimator(100)
	for i := range 1000 {
		e.Observe(i%2 == 0)
	}
	for range 1000 {
		e.Observe(false)
	}
	if e.Loss() > 0.001 || e.Samples() != 2000 {
		t.Fatalf("loss %.4f after 10 clean windows", e.Loss())
	}
}

func BenchmarkPolicyChoose(b *testing.B) {
	pol := NewPolicy(PolicyConfig{Budget: 1})
	c := Conditions{Loss: 0.2, RTT: 200 * time.Millisecond, Deadline: 300 * time.Millisecond}
	b.ReportAllocs()
	for range b.N {
		pol.Choose(c)
	}
}
