package udp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
)

// pacerBurst is the pacer's burst allowance the driver asks for when the
// configuration leaves it unset: two of Go's timer ticks, so that a loop
// that oversleeps by a millisecond still finds enough tokens to keep the
// pacing rate.
const pacerBurst = 2 * time.Millisecond

// earlyFlush is how long DialEarly waits for the application's first write
// before sending the Init anyway.
const earlyFlush = 5 * time.Millisecond

// Transport serves QRTP connections over one UDP socket. Its methods are
// safe for concurrent use.
type Transport struct {
	log  *slog.Logger
	sock *socket
	cfg  qrtp.Config

	mu      sync.Mutex // serialises every call into ep and its connections
	ep      *qrtp.Endpoint
	conns   map[*qrtp.Conn]*Conn // wrappers of the core's open connections
	acceptQ []*Conn
	stopped bool      // the loop has shut the endpoint down
	lastNow time.Time // the latest time handed to the core (see clock)
	// handshaking holds, per remote address, a channel closed when this
	// transport's handshake in progress there ends (see dial).
	handshaking map[netip.AddrPort]chan struct{}

	wake     chan struct{} // cap 1: the loop has work
	acceptCh chan struct{} // cap 1: acceptQ grew
	closing  chan struct{} // closed by Close
	done     chan struct{} // closed when every goroutine has stopped

	closeOnce sync.Once
	stopCtx   func() bool
	wg        sync.WaitGroup

	tx        txQueue   // the loop's
	droppedAt time.Time // the loop's: last check for dropped events
}

// Stats describes a Transport: the endpoint's counters and the socket's.
type Stats struct {
	Endpoint qrtp.EndpointStats
	// GSO and GRO report whether segmentation offload is in use for sends
	// and enabled for receives.
	GSO, GRO bool
	// GSOSends counts sendmsg calls that carried more than one datagram.
	GSOSends                uint64
	ReadErrors, WriteErrors uint64
	// Buffers is the socket buffer sizes asked for and granted.
	Buffers SocketBuffers
}

// Listen opens a UDP socket at addr (e.g. "0.0.0.0:4433", or
// "127.0.0.1:0" for any free port) and serves QRTP on it: it accepts
// incoming connections (cfg.Accept is forced on) and can dial out with
// Transport.Dial from the same socket. The transport stops when ctx is done
// or Close is called.
//
// A zero cfg.Conn.PacerBurst is set to two milliseconds (see the package
// doc on time).
func Listen(ctx context.Context, addr string, cfg qrtp.Config) (*Transport, error) {
	cfg.Accept = true
	return listen(ctx, "udp", addr, cfg)
}

func listen(ctx context.Context, network, addr string, cfg qrtp.Config) (*Transport, error) {
	la, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		return nil, fmt.Errorf("qrtp/udp: listen address %q: %w", addr, err)
	}
	c, err := net.ListenUDP(network, la)
	if err != nil {
		return nil, fmt.Errorf("qrtp/udp: %w", err)
	}
	t, err := newTransport(ctx, c, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return t, nil
}

func newTransport(ctx context.Context, c *net.UDPConn, cfg qrtp.Config) (*Transport, error) {
	if cfg.Conn.PacerBurst == 0 {
		cfg.Conn.PacerBurst = pacerBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now()
	ep, err := qrtp.NewEndpoint(now, cfg)
	if err != nil {
		return nil, fmt.Errorf("qrtp/udp: %w", err)
	}
	t := &Transport{
		log:         cfg.Logger,
		sock:        newSocket(c, cfg.Logger),
		cfg:         cfg,
		ep:          ep,
		handshaking: make(map[netip.AddrPort]chan struct{}),
		conns:       make(map[*qrtp.Conn]*Conn),
		wake:        make(chan struct{}, 1),
		acceptCh:    make(chan struct{}, 1),
		closing:     make(chan struct{}),
		done:        make(chan struct{}),
	}
	t.wg.Add(2)
	go t.loop()
	go t.read()
	go func() { // closes done once the two above have stopped
		t.wg.Wait()
		close(t.done)
	}()
	t.stopCtx = context.AfterFunc(ctx, func() { t.Close() })
	t.log.Debug("qrtp/udp: transport up", "addr", t.Addr(), "gso", t.sock.gso.Load(), "gro", t.sock.gro)
	return t, nil
}

// Addr is the socket's local address.
func (t *Transport) Addr() netip.AddrPort { return t.sock.localAddr() }

// PublicKey is the transport's static public key, which dialers need for
// a 0-RTT handshake.
func (t *Transport) PublicKey() handshake.PublicKey { return t.cfg.Key.Public }

// Done is closed once the transport has stopped and its goroutines exited.
func (t *Transport) Done() <-chan struct{} { return t.done }

// Stats returns a snapshot of the transport's counters.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	es := t.ep.Stats()
	t.mu.Unlock()
	return Stats{
		Endpoint: es,
		GSO:      t.sock.gso.Load(), GRO: t.sock.gro,
		GSOSends:   t.sock.gsoSends.Load(),
		Buffers:    t.sock.buffers,
		ReadErrors: t.sock.readErrors.Load(), WriteErrors: t.sock.writeErrors.Load(),
	}
}

// Close closes every connection, telling each peer with CONNECTION_CLOSE,
// then closes the socket and waits for the transport's goroutines to stop.
// It is safe to call more than once.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		close(t.closing)
		if t.stopCtx != nil {
			t.stopCtx()
		}
	})
	<-t.done
	return nil
}

// Dial connects to a QRTP server at addr and waits for the handshake to
// complete (bounded by ctx and the configuration's HandshakeTimeout). With
// remoteKey the handshake takes one round trip and proves the server holds
// that key; without it the transport first asks the server for its key
// and trusts the answer (one more round trip). cfg overrides the
// transport's connection defaults.
func (t *Transport) Dial(ctx context.Context, addr string, remoteKey *handshake.PublicKey, cfg qrtp.ConnConfig) (*Conn, error) {
	c, err := t.dial(ctx, addr, remoteKey, cfg, true)
	if err != nil {
		return nil, err
	}
	if err := c.Handshake(ctx); err != nil {
		c.CloseWithError(qrtp.CodeNoError, "dial abandoned")
		return nil, err
	}
	return c, nil
}

// DialEarly starts a connection to addr and returns at once, so that what
// the application writes next rides in the first datagram (0-RTT, when
// remoteKey is given): the Init leaves with the first write on the
// connection, or a few milliseconds after DialEarly at the latest. Errors
// of the handshake surface on the connection's operations and from
// Conn.Handshake. ctx bounds only the wait for an earlier handshake of
// this transport with the same address (see dial).
func (t *Transport) DialEarly(ctx context.Context, addr string, remoteKey *handshake.PublicKey, cfg qrtp.ConnConfig) (*Conn, error) {
	return t.dial(ctx, addr, remoteKey, cfg, false)
}

// dial starts a connection. Handshakes from one transport to one address
// run one at a time: the responder's replay protection accepts an Init
// only if its timestamp is newer than the last one it accepted from the
// same static key, so two Inits built in one Poll (same timestamp), or an
// older one retransmitted after a newer one got through, would be refused.
func (t *Transport) dial(ctx context.Context, addr string, remoteKey *handshake.PublicKey, cfg qrtp.ConnConfig, wake bool) (*Conn, error) {
	ra, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	for t.handshaking[ra] != nil && !t.stopped {
		ch := t.handshaking[ra]
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		t.mu.Lock()
	}
	if t.stopped {
		t.mu.Unlock()
		return nil, fmt.Errorf("qrtp/udp: dial %s: %w", addr, qrtp.ErrClosed)
	}
	qc, err := t.ep.Connect(t.clock(time.Now()), ra, remoteKey, cfg)
	if err != nil {
		t.mu.Unlock()
		return nil, fmt.Errorf("qrtp/udp: dial %s: %w", addr, err)
	}
	c := newConn(t, qc, remoteKey != nil)
	c.dialTo, c.handshaking = ra, make(chan struct{})
	t.handshaking[ra] = c.handshaking
	t.conns[qc] = c
	t.mu.Unlock()
	if wake {
		t.wakeLoop()
	} else {
		c.early = time.AfterFunc(earlyFlush, t.wakeLoop)
	}
	return c, nil
}

// resolve turns host:port into an address the socket can send to.
func resolve(addr string) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("qrtp/udp: address %q: %w", addr, err)
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// Accept waits for the next connection a peer opened. It returns the
// connection as soon as the peer's first datagram is authenticated, so
// 0-RTT data can be read at once.
func (t *Transport) Accept(ctx context.Context) (*Conn, error) {
	for {
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			return nil, fmt.Errorf("qrtp/udp: accept: %w", qrtp.ErrClosed)
		}
		if len(t.acceptQ) > 0 {
			c := t.acceptQ[0]
			t.acceptQ[0] = nil
			t.acceptQ = t.acceptQ[1:]
			t.mu.Unlock()
			return c, nil
		}
		t.mu.Unlock()
		select {
		case <-t.acceptCh:
		case <-t.closing:
			return nil, fmt.Errorf("qrtp/udp: accept: %w", qrtp.ErrClosed)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// wakeLoop asks the event loop to poll the core soon.
func (t *Transport) wakeLoop() { signal(t.wake) }

// signal wakes whoever waits on a capacity-one channel, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// errTransportStopped is reported by connections of a stopped transport
// that were not closed by anything more specific.
var errTransportStopped = errors.New("qrtp/udp: transport closed")
