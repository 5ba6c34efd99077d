package qrtp

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// fateLog is a recoveryHandler that remembers each packet's last fate.
type fateLog struct {
	acked, lost map[uint64]int
}

func newFateLog() *fateLog { return &fateLog{acked: map[uint64]int{}, lost: map[uint64]int{}} }

func (f *fateLog) onPacketAcked(p *sentPacket, _ bool) { f.acked[p.pn]++ }
func (f *fateLog) onPacketLost(p *sentPacket)          { f.lost[p.pn]++ }
func (f *fateLog) onPacketRecovered(*sentPacket, bool) {}

func newTestRecovery(t testing.TB) *recovery {
	ctrl, err := cc.New("newreno", cc.Config{MSS: 1200})
	if err != nil {
		t.Fatal(err)
	}
	return newRecovery(ctrl)
}

func sendN(r *recovery, now time.Time, n int) {
	for i := 0; i < n; i++ {
		p := r.ring.push()
		r.onSent(now, p, 1200, true, true)
	}
}

func ackFrame(ranges ...wire.AckRange) *wire.AckFrame { return &wire.AckFrame{Ranges: ranges} }

func TestPacketThresholdLoss(t *testing.T) {
	r := newTestRecovery(t)
	h := newFateLog()
	t0 := time.Unix(1000, 0)
	sendN(r, t0, 10) // pn 0..9
	if err := r.onAck(t0.Add(50*time.Millisecond), ackFrame(wire.AckRange{Smallest: 5, Largest: 5}), h); err != nil {
		t.Fatal(err)
	}
	// 0, 1, 2 are 3 or more below 5: lost. 3 and 4 wait for the timer.
	for pn := uint64(0); pn < 10; pn++ {
		wantLost := pn <= 2
		if (h.lost[pn] == 1) != wantLost {
			t.Errorf("pn %d lost=%d, want %v", pn, h.lost[pn], wantLost)
		}
	}
	if h.acked[5] != 1 || r.bytesInFlight != 6*1200 {
		t.Fatalf("acked %v inflight %d", h.acked, r.bytesInFlight)
	}
	// The loss timer covers 3 and 4: 9/8 of the RTT after they were sent.
	want := t0.Add(r.rtt.lossDelay())
	if got := r.timer(); !got.Equal(want) {
		t.Fatalf("loss timer %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	r.onTimeout(want, h)
	if h.lost[3] != 1 || h.lost[4] != 1 || h.lost[6] != 0 {
		t.Fatalf("after timer: lost %v", h.lost)
	}
	// A late ACK of a packet declared lost counts as spurious and still
	// reaches its frames (so their data is not resent).
	if err := r.onAck(want.Add(time.Millisecond), ackFrame(wire.AckRange{Smallest: 0, Largest: 9}), h); err != nil {
		t.Fatal(err)
	}
	if r.stats.spurious != 5 || h.acked[0] != 1 || r.bytesInFlight != 0 {
		t.Fatalf("spurious %d acked[0] %d inflight %d", r.stats.spurious, h.acked[0], r.bytesInFlight)
	}
	if err := r.onAck(want, ackFrame(wire.AckRange{Smallest: 0, Largest: 10}), h); err == nil {
		t.Error("ACK of an unsent packet accepted")
	}
}

func TestProbeTimeoutBackoff(t *testing.T) {
	r := newTestRecovery(t)
	h := newFateLog()
	t0 := time.Unix(1000, 0)
	sendN(r, t0, 3)
	pto := r.rtt.pto(peerMaxAckDelay)
	if got := r.timer(); !got.Equal(t0.Add(pto)) {
		t.Fatalf("PTO at %v, want %v", got.Sub(t0), pto)
	}
	r.onTimeout(t0.Add(pto), h)
	if r.probes != 2 || r.ptoCount != 1 || len(h.lost) != 0 {
		t.Fatalf("probes %d count %d lost %v", r.probes, r.ptoCount, h.lost)
	}
	// Probes are sent even with a full window; the next PTO is doubled.
	if !r.canSend(1 << 30) {
		t.Fatal("probe blocked by congestion control")
	}
	t1 := t0.Add(pto)
	sendN(r, t1, 1)
	if got := r.timer(); !got.Equal(t1.Add(2 * pto)) {
		t.Fatalf("second PTO after %v, want %v", got.Sub(t1), 2*pto)
	}
	// An ACK resets the backoff.
	if err := r.onAck(t1.Add(10*time.Millisecond), ackFrame(wire.AckRange{Smallest: 3, Largest: 3}), h); err != nil {
		t.Fatal(err)
	}
	if r.ptoCount != 0 {
		t.Fatalf("ptoCount %d after ACK", r.ptoCount)
	}
}

// TestAcksUnderHalfLoss: 2000 packets in flight at a time, half of them
// lost at random, half of the ACKs lost too, the receiver never told which
// of its ACKs arrived (so its range set stays full and ACKs carry only the
// newest 256 ranges). The sender must end with every delivered packet
// acknowledged and every dropped one declared lost, without spurious
// losses, and its bookkeeping must stay bounded.
func TestAcksUnderHalfLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 43))
	r := newTestRecovery(t)
	h := newFateLog()
	var rcv ackState
	t0 := time.Unix(1000, 0)
	const total, window = 20000, 2000
	const owd = 50 * time.Millisecond
	interval := 2 * owd / window // keeps about 2000 packets in flight

	type event struct {
		at  time.Time
		ack []byte // nil: a data packet arriving
		pn  uint64
	}
	var q []event
	push := func(e event) {
		i := sort.Search(len(q), func(i int) bool { return q[i].at.After(e.at) })
		q = append(q, event{})
		copy(q[i+1:], q[i:])
		q[i] = e
	}
	delivered := map[uint64]bool{}
	maxRanges, maxRing := 0, 0
	var frame wire.Frame
	now := t0
	for pn := uint64(0); pn < total || len(q) > 0; {
		next := t0.Add(time.Duration(pn) * interval)
		if pn < total && (len(q) == 0 || !q[0].at.Before(next)) {
			now = next
			p := r.ring.push()
			r.onSent(now, p, 1200, true, true)
			if rng.IntN(2) == 0 {
				push(event{at: now.Add(owd), pn: pn})
				delivered[pn] = true
			}
			pn++
			maxRing = max(maxRing, r.ring.len())
			continue
		}
		e := q[0]
		q = q[1:]
		now = e.at
		if e.ack == nil {
			rcv.onReceived(now, e.pn, true, time.Millisecond)
			if rcv.due(now) || pn >= total {
				b, _, _, _ := rcv.appendAck(nil, now, 1400)
				rcv.onAckSent()
				maxRanges = max(maxRanges, rcv.received.len())
				if rng.IntN(2) == 0 {
					push(event{at: now.Add(owd), ack: b})
				}
			}
			continue
		}
		if _, err := wire.ParseFrame(e.ack, &frame); err != nil {
			t.Fatal(err)
		}
		if len(frame.Ack.Ranges) > wire.MaxAckRanges {
			t.Fatalf("ACK with %d ranges", len(frame.Ack.Ranges))
		}
		if err := r.onAck(now, &frame.Ack, h); err != nil {
			t.Fatal(err)
		}
	}
	// Tail: a probe's ACK (here: one final ACK that is not lost) and the
	// loss timer resolve the last packets.
	now = now.Add(owd)
	b, _, _, _ := rcv.appendAck(nil, now, 1400)
	if _, err := wire.ParseFrame(b, &frame); err != nil {
		t.Fatal(err)
	}
	if err := r.onAck(now.Add(owd), &frame.Ack, h); err != nil {
		t.Fatal(err)
	}
	if tm := r.timer(); !tm.IsZero() {
		r.onTimeout(tm, h)
	}
	wrong := 0
	for pn := uint64(0); pn < total; pn++ {
		if delivered[pn] && h.acked[pn] != 1 || !delivered[pn] && h.acked[pn] != 0 ||
			!delivered[pn] && h.lost[pn] != 1 {
			wrong++
			t.Logf("pn %d delivered %v acked %d lost %d", pn, delivered[pn], h.acked[pn], h.lost[pn])
		}
	}
	if wrong != 0 {
		t.Errorf("%d packets with the wrong fate", wrong)
	}
	if r.stats.spurious != 0 {
		t.Errorf("%d spurious losses", r.stats.spurious)
	}
	if maxRing > 3*window {
		t.Errorf("sender state: %d acked spans, ring up to %d", r.acked.len(), maxRing)
	}
	if maxRanges > maxTrackedRanges {
		t.Errorf("receiver tracked %d ranges", maxRanges)
	}
	t.Logf("receiver ranges up to %d; sender ring up to %d; %d acked, %d lost", maxRanges, maxRing, r.stats.acked, r.stats.lost)
}

// BenchmarkAckWith256Ranges is the sender's cost per ACK in the worst
// steady state of 50% loss: every ACK carries 256 ranges (every other
// packet of the last 512), and only the newest few packets are news. The
// cost must not grow with the number of packets in flight.
func BenchmarkAckWith256Ranges(b *testing.B) {
	r := newTestRecovery(b)
	h := newFateLog()
	now := time.Unix(1000, 0)
	sendN(r, now, 4096)
	f := &wire.AckFrame{Ranges: make([]wire.AckRange, 0, wire.MaxAckRanges)}
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Microsecond)
		sendN(r, now, 4)
		top := r.ring.next() - 1
		f.Ranges = f.Ranges[:0]
		for i := uint64(0); i < wire.MaxAckRanges; i++ {
			pn := top - 2*i
			f.Ranges = append(f.Ranges, wire.AckRange{Smallest: pn, Largest: pn})
		}
		if err := r.onAck(now, f, h); err != nil {
			b.Fatal(err)
		}
		clear(h.acked)
		clear(h.lost)
	}
	b.ReportMetric(float64(r.ring.len()), "ring")
}
