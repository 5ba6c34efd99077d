package udp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
)

// Conn is one QRTP connection of a Transport. Its methods are safe for
// concurrent use.
type Conn struct {
	t        *Transport
	qc       *qrtp.Conn
	keyKnown bool        // dialled with the server's key (0-RTT)
	owned    bool        // Close also closes the transport (udp.Dial)
	early    *time.Timer // DialEarly's deadline for sending the Init

	// handshaking is closed when a dialled connection's handshake ends;
	// the transport lets the next dial to dialTo start then.
	dialTo      netip.AddrPort
	handshaking chan struct{}

	// Guarded by t.mu.
	streams   map[uint64]*Stream
	acceptQ   []*Stream
	sweepAt   int // sweep dead stream wrappers when streams grows past it
	connected bool
	closed    bool
	err       error
	dropped   uint64 // the core's EventsDropped last seen

	acceptCh    chan struct{} // cap 1
	streamsCh   chan struct{} // cap 1: the peer allows more streams
	established chan struct{} // closed when the handshake completes
	done        chan struct{} // closed when the connection ends
}

func newConn(t *Transport, qc *qrtp.Conn, keyKnown bool) *Conn {
	return &Conn{
		t: t, qc: qc, keyKnown: keyKnown,
		streams:     make(map[uint64]*Stream),
		sweepAt:     64,
		acceptCh:    make(chan struct{}, 1),
		streamsCh:   make(chan struct{}, 1),
		established: make(chan struct{}),
		done:        make(chan struct{}),
	}
}

// Dial opens a transport of its own on an ephemeral local port and
// connects to addr, like Transport.Dial. ctx bounds the dial only, as with
// net.Dialer; closing the connection closes the transport. cfg.Conn holds
// the connection's settings.
func Dial(ctx context.Context, addr string, cfg qrtp.Config, remoteKey *handshake.PublicKey) (*Conn, error) {
	return dialOwned(addr, cfg, func(t *Transport) (*Conn, error) {
		return t.Dial(ctx, addr, remoteKey, qrtp.ConnConfig{})
	})
}

// DialEarly is Dial returning at once, as Transport.DialEarly does, so the
// first write rides in the first datagram.
func DialEarly(ctx context.Context, addr string, cfg qrtp.Config, remoteKey *handshake.PublicKey) (*Conn, error) {
	return dialOwned(addr, cfg, func(t *Transport) (*Conn, error) {
		return t.DialEarly(ctx, addr, remoteKey, qrtp.ConnConfig{})
	})
}

// dialOwned dials on a new transport that the connection owns.
func dialOwned(addr string, cfg qrtp.Config, dial func(*Transport) (*Conn, error)) (*Conn, error) {
	t, err := dialTransport(addr, cfg)
	if err != nil {
		return nil, err
	}
	c, err := dial(t)
	if err != nil {
		t.Close()
		return nil, err
	}
	c.owned = true
	return c, nil
}

// dialTransport opens a client transport on an ephemeral port of the
// target's address family. It lives until its connection is closed.
func dialTransport(addr string, cfg qrtp.Config) (*Transport, error) {
	ra, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	network, local := "udp4", "0.0.0.0:0"
	if ra.Addr().Is6() {
		network, local = "udp6", "[::]:0"
	}
	cfg.Accept = false
	return listen(context.Background(), network, local, cfg)
}

// Transport is the transport the connection runs on.
func (c *Conn) Transport() *Transport { return c.t }

// Handshake waits until the handshake has completed, and returns why it
// failed if it did. It also sends a DialEarly connection's Init at once.
func (c *Conn) Handshake(ctx context.Context) error {
	c.t.wakeLoop()
	select {
	case <-c.established:
		return nil
	case <-c.done:
		select {
		case <-c.established:
			return nil
		default:
		}
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OpenStream opens a stream; zero fields of opts inherit from the
// connection's profile. While the peer allows no more streams it waits
// until the peer raises its limit or ctx is done.
func (c *Conn) OpenStream(ctx context.Context, opts qrtp.StreamOptions) (*Stream, error) {
	for {
		c.t.mu.Lock()
		qs, err := c.qc.OpenStream(opts)
		var s *Stream
		if err == nil {
			s = c.wrap(qs)
		}
		cerr := c.err
		c.t.mu.Unlock()
		if err == nil {
			return s, nil
		}
		if cerr != nil {
			return nil, cerr
		}
		if !errors.Is(err, qrtp.ErrStreamLimit) {
			return nil, fmt.Errorf("qrtp/udp: open stream: %w", err)
		}
		select {
		case <-c.streamsCh:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// AcceptStream waits for the next stream the peer opens.
func (c *Conn) AcceptStream(ctx context.Context) (*Stream, error) {
	for {
		c.t.mu.Lock()
		if len(c.acceptQ) > 0 {
			s := c.acceptQ[0]
			c.acceptQ[0] = nil
			c.acceptQ = c.acceptQ[1:]
			c.t.mu.Unlock()
			return s, nil
		}
		cerr := c.err
		c.t.mu.Unlock()
		if cerr != nil {
			return nil, cerr
		}
		select {
		case <-c.acceptCh:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Stats returns a snapshot of the connection's counters and estimates.
func (c *Conn) Stats() qrtp.ConnStats {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.qc.Stats()
}

// HandshakeKind is "0rtt", "1rtt-learned-key", or "" before it is known.
func (c *Conn) HandshakeKind() string {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.qc.HandshakeKind()
}

// RemoteAddr is the peer's current address.
func (c *Conn) RemoteAddr() netip.AddrPort {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.qc.RemoteAddr()
}

// RemoteKey is the peer's static public key.
func (c *Conn) RemoteKey() handshake.PublicKey {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.qc.RemoteKey()
}

// Ping asks the peer for an acknowledgement (a fresh RTT sample).
func (c *Conn) Ping() {
	c.t.mu.Lock()
	c.qc.Ping()
	c.t.mu.Unlock()
	c.t.wakeLoop()
}

// Done is closed when the connection has ended; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.err
}

// Close closes the connection gracefully (CONNECTION_CLOSE with no error).
func (c *Conn) Close() error { return c.CloseWithError(qrtp.CodeNoError, "") }

// CloseWithError closes the connection with an application error code and
// reason, which the peer sees. Data not yet acknowledged is abandoned.
func (c *Conn) CloseWithError(code qrtp.ErrorCode, reason string) error {
	c.t.mu.Lock()
	if !c.t.stopped {
		c.qc.Close(code, reason)
	}
	c.t.mu.Unlock()
	if c.owned {
		return c.t.Close()
	}
	c.t.wakeLoop()
	return nil
}

// wrap makes the driver's Stream for a core stream. Called with t.mu held.
func (c *Conn) wrap(qs *qrtp.Stream) *Stream {
	s := newStream(c, qs)
	c.streams[qs.ID()] = s
	return s
}

// dispatch turns the core's events for this connection into signals. It
// reports whether the connection is still open. Called with t.mu held.
func (c *Conn) dispatch() bool {
	for qs := c.qc.AcceptStream(); qs != nil; qs = c.qc.AcceptStream() {
		c.acceptQ = append(c.acceptQ, c.wrap(qs))
		signal(c.acceptCh)
	}
	for {
		ev, ok := c.qc.PollEvent()
		if !ok {
			break
		}
		switch ev.Kind {
		case qrtp.EventConnected:
			if !c.connected {
				c.connected = true
				close(c.established)
				c.handshakeEnded()
			}
		case qrtp.EventClosed:
			c.fail(ev.Err)
		case qrtp.EventStreamsAvailable:
			signal(c.streamsCh)
		default:
			if s := c.streams[ev.StreamID]; s != nil {
				s.onEvent(ev)
			}
		}
	}
	if len(c.streams) > c.sweepAt {
		c.sweep()
	}
	return !c.closed
}

// checkDropped wakes every waiter of the connection if the core dropped
// events since the last check (its queue is bounded): each will look at
// its stream's state itself. It reads the core's statistics, so the loop
// calls it now and then rather than on every dispatch. Called with t.mu
// held.
func (c *Conn) checkDropped() {
	if d := c.qc.Stats().EventsDropped; d != c.dropped {
		c.dropped = d
		signal(c.streamsCh)
		for _, s := range c.streams {
			signal(s.readCh)
			signal(s.writeCh)
		}
	}
}

// sweep forgets wrappers of streams the core has removed.
func (c *Conn) sweep() {
	for id := range c.streams {
		if c.qc.Stream(id) == nil {
			delete(c.streams, id)
		}
	}
	c.sweepAt = 2*len(c.streams) + 64
}

// fail ends the connection for the driver: records why and wakes every
// waiter. Called with t.mu held.
func (c *Conn) fail(err error) {
	if c.closed {
		return
	}
	c.closed = true
	if err == nil {
		err = qrtp.ErrClosed
	}
	c.err = c.describe(err)
	if c.early != nil {
		c.early.Stop()
	}
	c.handshakeEnded()
	close(c.done)
}

// handshakeEnded lets the transport's next dial to the same address go.
// Called with t.mu held.
func (c *Conn) handshakeEnded() {
	if c.handshaking == nil {
		return
	}
	close(c.handshaking)
	if c.t.handshaking[c.dialTo] == c.handshaking {
		delete(c.t.handshaking, c.dialTo)
	}
	c.handshaking = nil
}

// describe adds what a user can do about the common failures.
func (c *Conn) describe(err error) error {
	addr := c.qc.RemoteAddr()
	timeout := c.t.cfg.HandshakeTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	switch {
	case errors.Is(err, qrtp.ErrInitUnanswered):
		return fmt.Errorf("qrtp/udp: %s answered with its public key %s but did not accept our handshake within %v: it admits only the keys it is configured with, or it is overloaded (%w)",
			addr, c.qc.RemoteKey(), timeout, err)
	case errors.Is(err, qrtp.ErrHandshakeTimeout) && c.qc.Initiator() && c.keyKnown:
		return fmt.Errorf("qrtp/udp: no handshake answer from %s within %v: is a QRTP server running there, and is %s its public key? (%w)",
			addr, timeout, c.qc.RemoteKey(), err)
	case errors.Is(err, qrtp.ErrHandshakeTimeout) && c.qc.Initiator():
		return fmt.Errorf("qrtp/udp: no answer from %s within %v: is a QRTP server running there? (%w)", addr, timeout, err)
	case errors.Is(err, qrtp.ErrIdleTimeout):
		return fmt.Errorf("qrtp/udp: %s stopped answering (%w)", addr, err)
	}
	return err
}
