package trunk

import (
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// TestDatagramsKeepArrivalTimes: the loop hands every queued datagram to
// the Core at the time the reader got it, never at one clock reading taken
// before the batch. A batch-wide reading made an ACK that the reader
// queued while the loop was busy or descheduled look as if it had come
// earlier than it did: in a loaded demo run an RTT sample of 40.8 ms on a
// 100 ms path became qbbr's min RTT and starved the trunk. Deterministic:
// the stamps are given, no socket or wall clock is involved.
func TestDatagramsKeepArrivalTimes(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	t0 := time.Unix(1000, 0)
	core, err := NewCore(t0, Config{Name: "x", Role: route.Forwarding, Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trunk{core: core, rx: make(chan datagram, 8)}
	from := netip.MustParseAddrPort("127.0.0.1:9")
	dg := func(at time.Time) datagram {
		b := tr.bufs.get(4)
		*b = append((*b)[:0], 1, 2, 3, 4) // not a QRTP packet: the endpoint drops it
		return datagram{from: from, b: b, at: at}
	}

	// The loop takes the first datagram at t0; two more were read while it
	// worked on it, the last 80 ms later (longer than the 50 ms one-way
	// delay of the demo's trunks).
	tr.rx <- dg(t0.Add(30 * time.Millisecond))
	tr.rx <- dg(t0.Add(80 * time.Millisecond))
	tr.datagrams(dg(t0))
	if len(tr.rx) != 0 {
		t.Fatalf("%d datagrams left in rx", len(tr.rx))
	}
	if got, want := core.now, t0.Add(80*time.Millisecond); !got.Equal(want) {
		t.Fatalf("the last datagram reached the Core at t0+%v, want t0+%v (its arrival)", got.Sub(t0), want.Sub(t0))
	}

	// A datagram read before a later Poll but handled after it gets the
	// Poll's time: the Core never sees time go backwards.
	tr.clock(t0.Add(100 * time.Millisecond))
	tr.datagrams(dg(t0.Add(90 * time.Millisecond)))
	if got, want := core.now, t0.Add(100*time.Millisecond); !got.Equal(want) {
		t.Fatalf("a datagram stamped before the last Poll reached the Core at t0+%v, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
}

// TestDatagramsCapPerWakeUp: one wake-up of the loop hands the Core at most
// maxRxBatch datagrams and leaves the rest queued, so that a flood of
// arriving datagrams cannot keep the loop from its timers, local media and
// calls. The rest is handled at later turns, in order, none lost.
func TestDatagramsCapPerWakeUp(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	t0 := time.Unix(1000, 0)
	core, err := NewCore(t0, Config{Name: "x", Role: route.Forwarding, Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const queued = 3*maxRxBatch + 5
	tr := &Trunk{core: core, rx: make(chan datagram, queued)}
	from := netip.MustParseAddrPort("127.0.0.1:9")
	dg := func(i int) datagram {
		b := tr.bufs.get(4)
		*b = append((*b)[:0], 1, 2, 3, 4) // not a QRTP packet: the endpoint drops it
		return datagram{from: from, b: b, at: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	for i := 1; i <= queued; i++ {
		tr.rx <- dg(i)
	}
	tr.datagrams(dg(0))
	if got, want := len(tr.rx), queued+1-maxRxBatch; got != want {
		t.Fatalf("one wake-up left %d datagrams queued, want %d (at most %d handled)", got, want, maxRxBatch)
	}
	if got, want := core.now, t0.Add((maxRxBatch-1)*time.Millisecond); !got.Equal(want) {
		t.Fatalf("the Core is at t0+%v after one wake-up, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
	turns := 1
	for len(tr.rx) > 0 {
		tr.datagrams(<-tr.rx)
		turns++
	}
	if want := (queued + maxRxBatch) / maxRxBatch; turns != want {
		t.Fatalf("%d datagrams took %d wake-ups, want %d", queued+1, turns, want)
	}
	if got, want := core.now, t0.Add(queued*time.Millisecond); !got.Equal(want) {
		t.Fatalf("the last datagram reached the Core at t0+%v, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
}
