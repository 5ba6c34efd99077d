package bench

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// world is one simulation: a client endpoint and a server endpoint joined
// by a path whose client→server direction is the bottleneck under test.
// All connections of a scenario run between these two endpoints, so they
// share that bottleneck's queue.
type world struct {
	sim      *netsim.Sim
	cli, srv *node
	fwd      *netsim.Link // client → server: the link under test
	linkRate float64      // bytes/s
	baseRTT  time.Duration
}

// benchWindow is the stream flow-control window and send buffer of bulk
// flows: about 20 s of data at 100 Mbit/s.
const benchWindow = 256 << 20

var (
	clientAddr = netip.MustParseAddrPort("10.0.0.1:4000")
	serverAddr = netip.MustParseAddrPort("10.0.0.2:5000")
)

// node adapts an Endpoint for netsim and runs the scenario's application
// callbacks before every Poll and after every datagram, so applications see
// the connection's state as it changes.
type node struct {
	ep   *qrtp.Endpoint
	key  handshake.KeyPair
	apps []func(now time.Time)
}

func (n *node) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	n.ep.HandleDatagram(now, from, b)
	n.run(now)
}

func (n *node) Poll(now time.Time, send func(netip.AddrPort, []byte)) {
	n.run(now)
	n.ep.Poll(now, send)
}

func (n *node) NextTimeout() time.Time { return n.ep.NextTimeout() }

func (n *node) run(now time.Time) {
	for _, app := range n.apps {
		app(now)
	}
}

// newWorld builds the simulation for s: the forward link carries the
// scenario's rate, queue and loss; the return path has the same rate and
// delay and no loss (netem-style impairment on the sender's egress).
func newWorld(s *Scenario) (*world, error) {
	sim := netsim.New(netsim.Config{Seed: s.Seed})
	rate := s.RateMbit * 1e6
	rtt := time.Duration(s.RTTms) * time.Millisecond
	placement := netsim.LossBeforeBottleneck
	if s.Placement == PlacementAfter {
		placement = netsim.LossAfterBottleneck
	}
	fwd := netsim.LinkConfig{
		Rate:       rate,
		QueueBytes: netsim.QueueBDP(rate, rtt, s.QueueBDP),
		Delay:      rtt / 2,
		Placement:  placement,
	}
	if s.Loss > 0 {
		fwd.Loss = netsim.Bernoulli(s.Loss)
	}
	rev := netsim.LinkConfig{Rate: rate, QueueBytes: fwd.QueueBytes, Delay: rtt / 2}
	sim.SetPath(clientAddr, serverAddr, fwd, rev)
	w := &world{sim: sim, fwd: sim.Link(clientAddr, serverAddr), linkRate: rate / 8, baseRTT: rtt}
	var err error
	if w.srv, err = newNode(sim, serverAddr, s.Seed*2+1, true); err != nil {
		return nil, err
	}
	if w.cli, err = newNode(sim, clientAddr, s.Seed*2+2, false); err != nil {
		return nil, err
	}
	return w, nil
}

func newNode(sim *netsim.Sim, addr netip.AddrPort, seed uint64, accept bool) (*node, error) {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	rnd := rand.NewChaCha8(s)
	key, err := handshake.GenerateKeyPair(rnd)
	if err != nil {
		return nil, fmt.Errorf("bench: key: %w", err)
	}
	cfg := qrtp.Config{Key: key, Rand: rnd, Accept: accept}
	// Receive windows sized for the worst path the benchmarks run. At 100
	// Mbit/s, 200 ms and 50% loss some packet needs ten or more attempts
	// (a quarter of a second each) every few seconds, and a reliable stream
	// cannot deliver past it: the window must hold seconds of data.
	cfg.Conn.StreamReceiveWindow = benchWindow
	cfg.Conn.MaxStreamReceiveWindow = benchWindow
	cfg.Conn.ConnReceiveWindow = 2 * benchWindow
	cfg.Conn.MaxConnReceiveWindow = 2 * benchWindow
	ep, err := qrtp.NewEndpoint(sim.Now(), cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: endpoint: %w", err)
	}
	n := &node{ep: ep, key: key}
	if err := sim.Attach(addr, n); err != nil {
		return nil, fmt.Errorf("bench: attach: %w", err)
	}
	return n, nil
}

// connect opens a client connection with controller cc and profile.
func (w *world) connect(cc, profile string) (*qrtp.Conn, error) {
	key := w.srv.key.Public
	c, err := w.cli.ep.Connect(w.sim.Now(), serverAddr, &key, qrtp.ConnConfig{Profile: profile, CongestionControl: cc})
	if err != nil {
		return nil, fmt.Errorf("bench: connect: %w", err)
	}
	if err := w.sim.Wake(clientAddr); err != nil {
		return nil, fmt.Errorf("bench: wake: %w", err)
	}
	return c, nil
}

// accepter hands the server's new connections out in arrival order.
type accepter struct {
	w       *world
	pending []*qrtp.Conn
}

func (a *accepter) next() *qrtp.Conn {
	for {
		c := a.w.srv.ep.Accept()
		if c == nil {
			break
		}
		a.pending = append(a.pending, c)
	}
	if len(a.pending) == 0 {
		return nil
	}
	c := a.pending[0]
	a.pending = a.pending[1:]
	return c
}
