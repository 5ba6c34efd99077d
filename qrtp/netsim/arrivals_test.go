package netsim

import (
	"net/netip"
	"testing"
	"time"
)

// recorder notes every datagram it is handed and every Poll.
type recorder struct {
	got   []arrivalRec
	polls int
}

type arrivalRec struct {
	at   time.Duration
	from netip.AddrPort
	id   byte
}

func (r *recorder) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	r.got = append(r.got, arrivalRec{at: now.Sub(Epoch()), from: from, id: b[0]})
}
func (r *recorder) Poll(time.Time, func(netip.AddrPort, []byte)) { r.polls++ }
func (r *recorder) NextTimeout() time.Time                       { return time.Time{} }

// TestArrivalsInTimeOrder: datagrams queued per link still come out in
// (arrival time, send order) across links, including from a link that
// reorders (jitter) and after a link's delay drops mid-flight; and with
// BatchArrivals a burst that arrives at one instant costs one Poll.
func TestArrivalsInTimeOrder(t *testing.T) {
	for _, batch := range []bool{false, true} {
		s := New(Config{Seed: 3, BatchArrivals: batch})
		s.SetLink(addrA, addrC, LinkConfig{Delay: 30 * time.Millisecond})
		s.SetLink(addrB, addrC, LinkConfig{Delay: 10 * time.Millisecond, Jitter: 8 * time.Millisecond, Reorder: true})
		rec := &recorder{}
		if err := s.Attach(addrC, rec); err != nil {
			t.Fatal(err)
		}
		id := byte(0)
		for i := range 40 {
			s.At(Epoch().Add(time.Duration(i)*time.Millisecond), func() {
				for range 3 { // a burst of three from A
					id++
					s.Send(addrA, addrC, []byte{id})
				}
				id++
				s.Send(addrB, addrC, []byte{id})
			})
		}
		s.At(Epoch().Add(20*time.Millisecond), func() {
			s.SetLink(addrA, addrC, LinkConfig{Delay: 5 * time.Millisecond}) // on a link that keeps order, later datagrams still arrive after earlier ones
		})
		s.RunFor(time.Second)
		if len(rec.got) != 160 {
			t.Fatalf("batch %v: %d datagrams arrived, want 160", batch, len(rec.got))
		}
		var lastA byte
		for i, a := range rec.got {
			if i > 0 && a.at < rec.got[i-1].at {
				t.Fatalf("batch %v: arrival %d at %v after one at %v", batch, i, a.at, rec.got[i-1].at)
			}
			if a.from == addrA {
				if a.id < lastA {
					t.Fatalf("batch %v: A's datagram %d overtook %d on a link that keeps order", batch, lastA, a.id)
				}
				lastA = a.id
			}
		}
		if batch && rec.polls > 160-2*40 {
			t.Fatalf("batched: %d polls for 40 bursts of three and 40 singles", rec.polls)
		}
		if !batch && rec.polls < 160 {
			t.Fatalf("unbatched: %d polls for 160 datagrams", rec.polls)
		}
	}
}
