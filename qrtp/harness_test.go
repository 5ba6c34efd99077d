package qrtp_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// peer adapts an Endpoint for netsim and lets a test act as the
// application: app runs after every datagram and around every Poll, and
// filter can drop chosen incoming datagrams (return false).
type peer struct {
	ep     *qrtp.Endpoint
	addr   netip.AddrPort
	key    handshake.KeyPair
	app    func(now time.Time)
	filter func(now time.Time, from netip.AddrPort, b []byte) bool
	// sent records datagrams this peer sent, when record is set.
	record bool
	sent   [][]byte
}

func (p *peer) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	if p.filter != nil && !p.filter(now, from, b) {
		return
	}
	p.ep.HandleDatagram(now, from, b)
	if p.app != nil {
		p.app(now)
	}
}

func (p *peer) Poll(now time.Time, send func(netip.AddrPort, []byte)) {
	if p.app != nil {
		p.app(now)
	}
	if !p.record {
		p.ep.Poll(now, send)
	} else {
		p.ep.Poll(now, func(to netip.AddrPort, b []byte) {
			p.sent = append(p.sent, append([]byte(nil), b...))
			send(to, b)
		})
	}
	if p.app != nil {
		p.app(now) // see what timers did at the time they did it
	}
}

func (p *peer) NextTimeout() time.Time { return p.ep.NextTimeout() }

var (
	clientAddr = netip.MustParseAddrPort("10.0.0.1:4000")
	serverAddr = netip.MustParseAddrPort("10.0.0.2:5000")
)

// newPeer makes an endpoint with a deterministic key and randomness.
func newPeer(t testing.TB, sim *netsim.Sim, addr netip.AddrPort, seed uint64, mutate func(*qrtp.Config)) *peer {
	t.Helper()
	rnd := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	key, err := handshake.GenerateKeyPair(rnd)
	if err != nil {
		t.Fatal(err)
	}
	cfg := qrtp.Config{Key: key, Rand: rnd, Accept: true}
	if mutate != nil {
		mutate(&cfg)
	}
	ep, err := qrtp.NewEndpoint(sim.Now(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{ep: ep, addr: addr, key: key}
	if err := sim.Attach(addr, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// link configures both directions between client and server alike.
func link(sim *netsim.Sim, cfg netsim.LinkConfig) {
	sim.SetPath(clientAddr, serverAddr, cfg, cfg)
}

// drainEvents reads all events of c into a slice.
func drainEvents(c *qrtp.Conn) []qrtp.Event {
	var evs []qrtp.Event
	for {
		ev, ok := c.PollEvent()
		if !ok {
			return evs
		}
		evs = append(evs, ev)
	}
}

// newSim returns a simulation whose nodes must never spin: a node that
// keeps asking to be polled "now" without making progress is a bug in its
// NextTimeout, and netsim counts it.
func newSim(t testing.TB, seed uint64) *netsim.Sim {
	t.Helper()
	sim := netsim.New(netsim.Config{Seed: seed})
	t.Cleanup(func() {
		if n := sim.Stats().Spins; n != 0 {
			t.Errorf("a node spun %d times (NextTimeout kept saying now)", n)
		}
	})
	return sim
}
