package cc

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// steadyFlow sends one 1000-byte packet every gap; each is acked alone
// exactly rtt after it was sent. It returns the samples of every ACK.
func steadyFlow(s *Sampler, n int, gap, rtt time.Duration, lose func(i int) bool) []RateSample {
	type ev struct {
		at     time.Time
		number uint64
		sent   time.Time
		lost   bool
	}
	var pending []ev
	var out []RateSample
	inFlight := 0
	for i := 0; i < n; i++ {
		now := t0.Add(time.Duration(i) * gap)
		// Deliver ACKs that are due before this send.
		for len(pending) > 0 && !pending[0].at.After(now) {
			p := pending[0]
			pending = pending[1:]
			e := &CongestionEvent{PriorInFlight: inFlight}
			if p.lost {
				e.Lost = []Packet{{Number: p.number, Bytes: 1000, SentTime: p.sent}}
			} else {
				e.Acked = []Packet{{Number: p.number, Bytes: 1000, SentTime: p.sent}}
			}
			inFlight -= 1000
			e.BytesInFlight = inFlight
			out = append(out, s.OnCongestionEvent(p.at, e, rtt))
		}
		s.OnPacketSent(now, uint64(i), 1000, inFlight)
		inFlight += 1000
		pending = append(pending, ev{at: now.Add(rtt), number: uint64(i), sent: now, lost: lose != nil && lose(i)})
	}
	return out
}

func TestSamplerSteadyRate(t *testing.T) {
	s := NewSampler()
	samples := steadyFlow(s, 2000, time.Millisecond, 50*time.Millisecond, nil)
	last := samples[len(samples)-1]
	if !last.Valid {
		t.Fatal("last sample invalid")
	}
	// 1000 bytes per ms.
	if r := last.Rate(); math.Abs(r-1e6) > 1e6*0.01 {
		t.Fatalf("rate %v, want 1e6 B/s", r)
	}
	if last.IsAppLimited {
		t.Fatal("sample marked app-limited")
	}
	if got := s.Delivered(); got != int64(len(samples))*1000 {
		t.Fatalf("delivered %d, want %d", got, len(samples)*1000)
	}
}

func TestSamplerLossLowersRateAndCountsLost(t *testing.T) {
	s := NewSampler()
	samples := steadyFlow(s, 2000, time.Millisecond, 50*time.Millisecond, func(i int) bool { return i%4 == 0 })
	last := samples[len(samples)-1]
	for i := len(samples) - 1; !last.Valid; i-- {
		last = samples[i]
	}
	if r := last.Rate(); math.Abs(r-0.75e6) > 0.75e6*0.03 {
		t.Fatalf("rate %v, want 0.75e6 B/s with a quarter lost", r)
	}
	if frac := float64(last.Lost) / float64(last.Lost+last.Delivered); math.Abs(frac-0.25) > 0.03 {
		t.Fatalf("lost fraction over the sample %v, want 0.25", frac)
	}
	if s.Lost() == 0 {
		t.Fatal("no loss counted")
	}
}

func TestSamplerAppLimitedMarksUntilBubbleDelivered(t *testing.T) {
	s := NewSampler()
	s.OnPacketSent(t0, 1, 1000, 0)
	s.OnAppLimited(1000)
	s.OnPacketSent(t0.Add(time.Millisecond), 2, 1000, 1000)
	if !s.AppLimited() {
		t.Fatal("not app-limited")
	}
	ack := func(at time.Time, n uint64, sent time.Time) RateSample {
		return s.OnCongestionEvent(at, &CongestionEvent{Acked: []Packet{{Number: n, Bytes: 1000, SentTime: sent}}}, 0)
	}
	rs := ack(t0.Add(20*time.Millisecond), 1, t0)
	if rs.IsAppLimited {
		t.Fatal("packet sent before the mark is app-limited")
	}
	if !s.AppLimited() {
		t.Fatal("mark cleared before the bubble (1000 bytes in flight at the mark) was delivered")
	}
	rs = ack(t0.Add(21*time.Millisecond), 2, t0.Add(time.Millisecond))
	if !rs.IsAppLimited {
		t.Fatal("packet sent after the mark not app-limited")
	}
	if s.AppLimited() {
		t.Fatal("mark not cleared once the bubble was delivered")
	}
}

func TestSamplerRejectsIntervalBelowMinRTT(t *testing.T) {
	s := NewSampler()
	s.OnPacketSent(t0, 1, 1000, 0)
	rs := s.OnCongestionEvent(t0.Add(5*time.Millisecond), &CongestionEvent{Acked: []Packet{{Number: 1, Bytes: 1000, SentTime: t0}}}, 10*time.Millisecond)
	if rs.Valid {
		t.Fatal("5 ms interval accepted with a 10 ms min RTT")
	}
	if rs.AckedBytes != 1000 {
		t.Fatalf("acked %d", rs.AckedBytes)
	}
}

func TestSamplerRingGrowsAndStaysBounded(t *testing.T) {
	s := NewSampler()
	s.max = 4096
	for i := 0; i < 3000; i++ {
		s.OnPacketSent(t0, uint64(i), 1000, i*1000)
	}
	if len(s.ring) != 4096 {
		t.Fatalf("ring %d, want 4096 for 3000 in flight", len(s.ring))
	}
	rs := s.OnCongestionEvent(t0.Add(time.Second), &CongestionEvent{Acked: []Packet{{Number: 0, Bytes: 1000}}}, 0)
	if !rs.Valid {
		t.Fatal("oldest packet lost from the ring")
	}
	for i := 3000; i < 10000; i++ {
		s.OnPacketSent(t0, uint64(i), 1000, i*1000)
	}
	if len(s.ring) != 4096 {
		t.Fatalf("ring grew past its bound to %d", len(s.ring))
	}
	// Packet 1 was overwritten: its ACK yields no sample but is still counted.
	rs = s.OnCongestionEvent(t0.Add(time.Second), &CongestionEvent{Acked: []Packet{{Number: 1, Bytes: 1000}}}, 0)
	if rs.Valid || rs.AckedBytes != 1000 {
		t.Fatalf("overwritten packet: valid=%v acked=%d", rs.Valid, rs.AckedBytes)
	}
}

func TestSamplerClassesSplitCounts(t *testing.T) {
	s := NewSampler()
	s.SetClass(1)
	s.OnPacketSent(t0, 1, 1000, 0)
	s.SetClass(2)
	s.OnPacketSent(t0, 2, 1000, 1000)
	rs := s.OnCongestionEvent(t0.Add(10*time.Millisecond), &CongestionEvent{
		Acked: []Packet{{Number: 1, Bytes: 1000}},
		Lost:  []Packet{{Number: 2, Bytes: 1000}},
	}, 0)
	if rs.AckedByClass[1] != 1000 || rs.LostByClass[2] != 1000 {
		t.Fatalf("acked by class %v, lost by class %v", rs.AckedByClass, rs.LostByClass)
	}
}
