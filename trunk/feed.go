package trunk

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// feed hands the packets of one mirrored track from the trunk's loop to
// the local SFU on a goroutine of its own, as a browser publisher's read
// loop does for a local track. Receiver.WriteRTP fans a packet out to
// every local subscriber synchronously (SRTP and a socket write each);
// done on the loop, 20 subscribers of 4 remote publishers took three
// quarters of the loop's time (≈10 µs per subscriber and packet), which
// delays every trunk's datagrams, ACKs and timers behind it and caps what
// one node can relay at about one core. The loop never blocks on a feed:
// when one is full (its subscribers cannot keep up) packets are dropped
// and counted, as the SFU would drop them for a slow subscriber.
type feed struct {
	recv *sfu.Receiver
	ch   chan feedPacket
	g    *feeds
}

// feeds owns the delivery goroutines of one access side.
type feeds struct {
	wg      sync.WaitGroup
	running atomic.Int64
	// bad counts packets the receivers refused; drops, packets the loop
	// could not queue. Both are the trunk's counters.
	bad, drops *atomic.Uint64
}

type feedPacket struct {
	layer int
	b     []byte
	at    time.Time
}

// feedQueue bounds what waits for one track's delivery: a second of a
// 1.5 Mbit/s layer, far more than a healthy SFU ever lets pile up.
const feedQueue = 256

// start starts the delivery goroutine of a mirrored track.
func (g *feeds) start(r *sfu.Receiver) *feed {
	f := &feed{recv: r, ch: make(chan feedPacket, feedQueue), g: g}
	g.wg.Add(1)
	g.running.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.running.Add(-1)
		for p := range f.ch {
			if err := f.recv.WriteRTP(p.layer, p.b, p.at); err != nil {
				g.bad.Add(1)
			}
		}
	}()
	return f
}

// wait returns once every feed stopped.
func (g *feeds) wait() { g.wg.Wait() }

// push queues a packet; it never blocks. b must not be modified after.
func (f *feed) push(layer int, b []byte, at time.Time) {
	select {
	case f.ch <- feedPacket{layer: layer, b: b, at: at}:
	default:
		f.g.drops.Add(1)
	}
}

// stop ends the goroutine once it has delivered what is queued; the loop
// must not push after.
func (f *feed) stop() { close(f.ch) }
