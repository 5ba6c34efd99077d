package netsim

import (
	"errors"
	"hash/fnv"
	"math"
	"net/netip"
	"testing"
	"time"
)

// runBlast sends from a blaster at sendRate through a link to a sink for d
// and returns the delivered rate in bits/s, measured at the sink.
func runBlast(t *testing.T, cfg LinkConfig, sendRate float64, d time.Duration) (float64, *Link) {
	t.Helper()
	s := New(Config{Seed: 1})
	l := s.SetLink(addrA, addrB, cfg)
	snk := &sink{}
	if err := s.Attach(addrA, newBlaster(addrB, sendRate, 1200)); err != nil {
		t.Fatal(err)
	}
	if err := s.Attach(addrB, snk); err != nil {
		t.Fatal(err)
	}
	// Measure over the second half so the queue has filled.
	s.RunFor(d / 2)
	before := snk.bytes
	s.RunFor(d / 2)
	return float64(snk.bytes-before) * 8 / (d / 2).Seconds(), l
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }

func TestRateIsRespected(t *testing.T) {
	got, l := runBlast(t, LinkConfig{Rate: 10e6, QueueBytes: 60000, Delay: 20 * time.Millisecond}, 20e6, 4*time.Second)
	if !near(got, 10e6, 0.01) {
		t.Fatalf("delivered %.2f Mbit/s through a 10 Mbit/s link", got/1e6)
	}
	st := l.Stats()
	if st.QueueDropped == 0 || st.Lost != 0 {
		t.Fatalf("sender at 2x rate: %d tail drops, %d lost", st.QueueDropped, st.Lost)
	}
	// A full 60 kB queue at 10 Mbit/s holds 48 ms.
	if q := st.QueueDelay.Quantile(0.9); q < 45*time.Millisecond || q > 48*time.Millisecond {
		t.Fatalf("p90 queue delay %v, want ≈48ms", q)
	}
}

func TestLossPlacement(t *testing.T) {
	const rate = 10e6
	tests := []struct {
		name      string
		placement Placement
		want      float64
	}{
		// Lost packets never reach the queue, which stays full: full rate.
		{"before", LossBeforeBottleneck, rate},
		// Lost packets used their transmission slot.
		{"after", LossAfterBottleneck, rate * 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := LinkConfig{Rate: rate, QueueBytes: 60000, Loss: Bernoulli(0.5), Placement: tc.placement}
			got, l := runBlast(t, cfg, 2*rate, 4*time.Second)
			if !near(got, tc.want, 0.03) {
				t.Fatalf("delivered %.2f Mbit/s, want %.2f", got/1e6, tc.want/1e6)
			}
			if st := l.Stats(); st.Lost == 0 {
				t.Fatalf("nothing lost: %+v", st)
			}
		})
	}
}

// trace runs a lossy, jittery two-way scenario and hashes every arrival.
func trace(seed uint64) (uint64, int) {
	s := New(Config{Seed: seed, DefaultLink: LinkConfig{
		Rate: 5e6, QueueBytes: 30000, Delay: 15 * time.Millisecond, Jitter: 3 * time.Millisecond,
		Loss: Bernoulli(0.1),
	}})
	ge, _ := Burst(0.2, 3)
	s.SetLink(addrB, addrA, LinkConfig{Rate: 5e6, Delay: 15 * time.Millisecond, Jitter: 5 * time.Millisecond, Reorder: true, Loss: ge, Placement: LossAfterBottleneck})
	echo := &sink{echo: true}
	bl := newBlaster(addrB, 6e6, 1000)
	rx := &sink{}
	_ = s.Attach(addrB, echo)
	_ = s.Attach(addrA, bl)
	_ = s.Attach(addrC, rx)
	s.Every(10*time.Millisecond, func() { s.Send(addrC, addrB, []byte("tick....")) })
	s.RunFor(3 * time.Second)
	h := fnv.New64a()
	for _, a := range echo.got {
		h.Write([]byte(a.at.String() + a.from.String()))
	}
	return h.Sum64(), len(echo.got)
}

func TestDeterminism(t *testing.T) {
	h1, n1 := trace(5)
	h2, n2 := trace(5)
	if h1 != h2 || n1 != n2 {
		t.Fatalf("same seed, different runs: %x/%d vs %x/%d", h1, n1, h2, n2)
	}
	if n1 < 1000 {
		t.Fatalf("only %d arrivals", n1)
	}
	if h3, _ := trace(6); h3 == h1 {
		t.Fatal("different seeds gave identical runs")
	}
}

func TestDownAndUp(t *testing.T) {
	s := New(Config{Seed: 1, DefaultLink: LinkConfig{Delay: 5 * time.Millisecond}})
	bl := newBlaster(addrB, 8e6, 1000) // one packet per ms
	snk := &sink{}
	_ = s.Attach(addrA, bl)
	_ = s.Attach(addrB, snk)
	s.RunFor(100 * time.Millisecond)
	if err := s.Down(addrB); err != nil {
		t.Fatal(err)
	}
	downAt := s.Now()
	s.RunFor(100 * time.Millisecond)
	n := len(snk.got)
	if st := s.Stats(); st.Undeliverable < 95 {
		t.Fatalf("sink down for 100ms at 1 pkt/ms, yet only %d undeliverable", st.Undeliverable)
	}
	_ = s.Up(addrB)
	s.RunFor(100 * time.Millisecond)
	for _, a := range snk.got[:n] {
		if a.at.After(downAt) {
			t.Fatalf("delivery at +%v while down", a.at.Sub(downAt))
		}
	}
	if len(snk.got)-n < 95 {
		t.Fatalf("after Up only %d arrivals", len(snk.got)-n)
	}
	// A down sender is not polled.
	_ = s.Down(addrA)
	sent := bl.sent
	s.RunFor(100 * time.Millisecond)
	if bl.sent != sent {
		t.Fatalf("down blaster sent %d packets", bl.sent-sent)
	}
	if err := s.Down(addrC); !errors.Is(err, ErrNoNode) {
		t.Fatalf("Down of an empty address: %v", err)
	}
}

func TestRebindMovesNodeAndPath(t *testing.T) {
	s := New(Config{Seed: 1})
	s.SetPath(addrA, addrB, LinkConfig{Delay: 10 * time.Millisecond}, LinkConfig{Delay: 10 * time.Millisecond})
	p := &pinger{dst: addrB}
	echo := &sink{echo: true}
	_ = s.Attach(addrA, p)
	_ = s.Attach(addrB, echo)
	at := addrA
	ping := func() {
		p.toSend = 1
		if err := s.Wake(at); err != nil {
			t.Fatal(err)
		}
	}
	ping()
	s.RunFor(30 * time.Millisecond)
	if len(p.replies) != 1 || echo.got[0].from != addrA {
		t.Fatalf("before rebind: %d replies, from %v", len(p.replies), echo.got)
	}
	// A ping in flight when the NAT mapping changes: its echo goes to the
	// old address and is lost.
	ping()
	s.RunFor(15 * time.Millisecond)
	if err := s.Rebind(addrA, addrC); err != nil {
		t.Fatal(err)
	}
	at = addrC
	s.RunFor(30 * time.Millisecond)
	if len(p.replies) != 1 || s.Stats().Undeliverable != 1 {
		t.Fatalf("echo to the old address: %d replies, %d undeliverable", len(p.replies), s.Stats().Undeliverable)
	}
	ping()
	s.RunFor(30 * time.Millisecond)
	if len(p.replies) != 2 || echo.got[2].from != addrC {
		t.Fatalf("after rebind: %d replies, last from %v", len(p.replies), echo.got[len(echo.got)-1].from)
	}
	// The path kept its configuration and counters.
	if l := s.Link(addrC, addrB); l == nil || l.Stats().Sent != 3 || l.Config().Delay != 10*time.Millisecond {
		t.Fatalf("link after rebind: %+v", l)
	}
	if err := s.Rebind(addrC, addrB); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("rebind onto an occupied address: %v", err)
	}
}

func TestCallbacksAndRunWhile(t *testing.T) {
	s := New(Config{})
	var log []string
	s.After(20*time.Millisecond, func() { log = append(log, "b") })
	s.After(10*time.Millisecond, func() { log = append(log, "a") })
	s.After(20*time.Millisecond, func() { log = append(log, "c") }) // tie: insertion order
	ticks := 0
	stop := s.Every(7*time.Millisecond, func() { ticks++ })
	s.RunFor(50 * time.Millisecond)
	if got := len(log); got != 3 || log[0] != "a" || log[1] != "b" || log[2] != "c" {
		t.Fatalf("order %v", log)
	}
	if ticks != 7 {
		t.Fatalf("%d ticks in 50ms every 7ms", ticks)
	}
	if s.Elapsed() != 50*time.Millisecond {
		t.Fatalf("clock at %v", s.Elapsed())
	}
	// RunWhile stops as soon as the condition fails...
	if !s.RunWhile(func() bool { return ticks < 10 }, s.Now().Add(time.Second)) {
		t.Fatal("condition should have ended the run")
	}
	if s.Elapsed() != 70*time.Millisecond {
		t.Fatalf("stopped at %v, want the 10th tick at 70ms", s.Elapsed())
	}
	// ...and at the limit otherwise, with the clock at the limit.
	stop()
	limit := s.Now().Add(100 * time.Millisecond)
	if s.RunWhile(func() bool { return true }, limit) || !s.Now().Equal(limit) {
		t.Fatalf("limit run ended at %v", s.Elapsed())
	}
	if ticks != 10 {
		t.Fatalf("ticks after stop: %d", ticks)
	}
}

func TestLinkChangeMidRun(t *testing.T) {
	s := New(Config{Seed: 3})
	l := s.SetLink(addrA, addrB, LinkConfig{Delay: 10 * time.Millisecond})
	bl := newBlaster(addrB, 0.8e6, 100) // one packet per ms
	snk := &sink{}
	_ = s.Attach(addrA, bl)
	_ = s.Attach(addrB, snk)
	s.After(100*time.Millisecond, func() {
		cfg := l.Config()
		cfg.Delay = 50 * time.Millisecond
		cfg.Loss = Bernoulli(1) // a failed link
		l.SetConfig(cfg)
	})
	s.After(200*time.Millisecond, func() { l.SetConfig(LinkConfig{Delay: 50 * time.Millisecond}) })
	s.RunFor(300 * time.Millisecond)
	var early, gap, late int
	for _, a := range snk.got {
		sent := a.at.Sub(Epoch())
		switch {
		case sent <= 110*time.Millisecond:
			early++
		case sent < 250*time.Millisecond:
			gap++
		default:
			late++
		}
	}
	if early < 95 || gap != 0 || late < 45 {
		t.Fatalf("arrivals early/gap/late = %d/%d/%d", early, gap, late)
	}
}

func TestPayloadIntegrityWithPooledBuffers(t *testing.T) {
	s := New(Config{Seed: 9, DefaultLink: LinkConfig{Rate: 1e6, Delay: time.Millisecond}})
	snk := &sink{}
	_ = s.Attach(addrB, snk)
	var want []int
	for i := range 200 {
		size := 8 + (i*97)%1400
		b := make([]byte, size)
		b[7] = byte(i)
		s.Send(addrA, addrB, b)
		want = append(want, size)
		if i%50 == 0 {
			s.RunFor(time.Millisecond)
		}
	}
	s.RunFor(3 * time.Second)
	if len(snk.got) != len(want) {
		t.Fatalf("%d arrivals, want %d", len(snk.got), len(want))
	}
	for i, a := range snk.got {
		if a.size != want[i] || byte(a.seq) != byte(i) {
			t.Fatalf("arrival %d: size %d seq %d, want %d/%d", i, a.size, a.seq, want[i], i)
		}
	}
}

// BenchmarkSim100Mbit measures how fast the simulator runs a paced sender
// that fills a 100 Mbit/s, 20 ms link with 1200-byte datagrams (about 10k
// packets per simulated second). Each iteration is one simulated second.
func BenchmarkSim100Mbit(b *testing.B) {
	s := New(Config{Seed: 1})
	s.SetLink(addrA, addrB, LinkConfig{Rate: 100e6, QueueBytes: 250000, Delay: 20 * time.Millisecond, Loss: Bernoulli(0.01)})
	_ = s.Attach(addrA, newBlaster(addrB, 100e6, 1200))
	_ = s.Attach(addrB, &nullNode{})
	s.RunFor(time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	before := s.Stats().Datagrams
	start := time.Now()
	for range b.N {
		s.RunFor(time.Second)
	}
	wall := time.Since(start)
	b.ReportMetric(float64(b.N)/wall.Seconds(), "sim-s/wall-s")
	b.ReportMetric(float64(wall.Nanoseconds())/float64(s.Stats().Datagrams-before), "ns/datagram")
}

// nullNode drops everything it receives.
type nullNode struct{}

func (nullNode) HandleDatagram(time.Time, netip.AddrPort, []byte) {}
func (nullNode) Poll(time.Time, func(netip.AddrPort, []byte))     {}
func (nullNode) NextTimeout() time.Time                           { return time.Time{} }

func BenchmarkLinkEnqueue(b *testing.B) {
	l := NewLink(LinkConfig{Rate: 100e6, QueueBytes: 250000, Delay: 20 * time.Millisecond, Jitter: time.Millisecond, Loss: Bernoulli(0.1)}, 1)
	now := Epoch()
	b.ReportAllocs()
	for i := range b.N {
		l.Enqueue(now.Add(time.Duration(i)*96*time.Microsecond), 1200)
	}
}

func TestOnTransmitSeesEveryDatagram(t *testing.T) {
	fates := map[Fate]int{}
	bytes := 0
	s := New(Config{Seed: 2,
		DefaultLink: LinkConfig{Rate: 1e6, QueueBytes: 3000, Loss: Bernoulli(0.3)},
		OnTransmit: func(_ time.Time, from, to netip.AddrPort, size int, f Fate) {
			if from != addrA || to != addrB {
				t.Errorf("tap saw %v -> %v", from, to)
			}
			fates[f]++
			bytes += size
		},
	})
	for range 100 {
		s.Send(addrA, addrB, make([]byte, 1000))
	}
	st := s.Link(addrA, addrB).Stats()
	if fates[Delivered] != int(st.Delivered) || fates[Lost] != int(st.Lost) || fates[QueueDrop] != int(st.QueueDropped) || bytes != 100000 {
		t.Fatalf("tap %v (%d bytes), link %+v", fates, bytes, st)
	}
	if fates[QueueDrop] == 0 || fates[Lost] == 0 {
		t.Fatalf("want both drops and losses: %v", fates)
	}
}

func TestQueueBDP(t *testing.T) {
	if got := QueueBDP(100e6, 40*time.Millisecond, 1); got != 500000 {
		t.Fatalf("1 BDP at 100 Mbit/s, 40 ms: %d", got)
	}
	if got := QueueBDP(1e6, time.Millisecond, 1); got != 15000 {
		t.Fatalf("floor: %d", got)
	}
}
