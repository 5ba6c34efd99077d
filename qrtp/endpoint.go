package qrtp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// Endpoint serves many QRTP connections over one socket, without owning
// the socket: a driver hands it datagrams (HandleDatagram), lets it send
// (Poll) and sleeps until NextTimeout. Packets are demultiplexed by
// connection ID, so a connection survives its peer's address changes.
// It implements netsim.Node. Not safe for concurrent use.
type Endpoint struct {
	cfg       Config
	log       *slog.Logger
	rand      io.Reader
	responder *handshake.Responder
	cookies   *handshake.CookieJar

	byCID   map[wire.ConnectionID]*Conn
	conns   []*Conn
	acceptQ []*Conn
	// ready lists connections that queued events since the last Ready;
	// readyOut is what Ready returned last (its array is reused).
	ready, readyOut []*Conn
	// timers orders connections by deadline; touched awaits rescheduling;
	// due is Poll's scratch (endpoint_timers.go).
	timers       connHeap
	touched, due []*Conn
	pending      int // responder handshakes not yet confirmed

	tokens   float64 // handshake rate limiter (token bucket)
	tokensAt time.Time

	stateless []statelessReply
	now       time.Time
	closed    bool

	sendBuf  []byte
	blocks   blockPool // stream buffer blocks, shared by all connections
	recvBuf  []byte
	plainBuf []byte
	frame    wire.Frame
	lhdr     wire.LongHeader
	shdr     wire.ShortHeader

	st       EndpointStats
	logTimes map[string]time.Time
}

type statelessReply struct {
	to netip.AddrPort
	b  []byte
}

// maxPooledBlocks bounds the free stream-buffer blocks an endpoint keeps
// for reuse (16 MiB); beyond it, freed blocks go to the garbage collector.
const maxPooledBlocks = 1024

// maxStatelessQueue bounds KeyResponses and Retries waiting for Poll.
const maxStatelessQueue = 64

// NewEndpoint creates an endpoint at now (the responder rejects handshake
// timestamps from before it, so a restart cannot be fed old Inits).
func NewEndpoint(now time.Time, cfg Config) (*Endpoint, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, _, err := resolveConn(c.Conn, ConnConfig{}); err != nil {
		return nil, err
	}
	rnd := c.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	e := &Endpoint{
		cfg: c, log: c.Logger, rand: rnd,
		byCID:    make(map[wire.ConnectionID]*Conn),
		now:      now,
		tokens:   max(c.MaxHandshakesPerSecond, 1),
		tokensAt: now,
		sendBuf:  make([]byte, 0, c.MaxDatagramSize+64),
		recvBuf:  make([]byte, 0, 65536),
		plainBuf: make([]byte, 0, c.MaxDatagramSize+64),
		logTimes: make(map[string]time.Time),
		blocks:   blockPool{max: maxPooledBlocks},
	}
	if c.Accept {
		e.responder = handshake.NewResponder(handshake.ResponderConfig{
			Local: c.Key, ReplayWindow: c.ReplayWindow, Authorize: c.Authorize, Rand: rnd, NotBefore: now,
		})
		e.cookies = handshake.NewCookieJar(rnd)
	}
	return e, nil
}

// PublicKey is the endpoint's static public key.
func (e *Endpoint) PublicKey() handshake.PublicKey { return e.cfg.Key.Public }

// Connect starts a connection to addr. With remoteKey the first datagram
// already carries whatever the application writes before the next Poll
// (0-RTT); without it the endpoint first asks the responder for its key
// (one more round trip, HandshakeKind "1rtt-learned-key"). cfg overrides
// the endpoint's connection defaults.
func (e *Endpoint) Connect(now time.Time, addr netip.AddrPort, remoteKey *handshake.PublicKey, cfg ConnConfig) (*Conn, error) {
	if e.closed {
		return nil, ErrClosed
	}
	if len(e.conns) >= e.cfg.MaxConnections {
		return nil, ErrConnectionLimit
	}
	cc, prof, err := resolveConn(e.cfg.Conn, cfg)
	if err != nil {
		return nil, err
	}
	c, err := newConn(e, now, true, addr, cc, prof)
	if err != nil {
		return nil, err
	}
	if c.initialDCID, err = e.newCID(); err != nil {
		return nil, err
	}
	c.remoteCID = c.initialDCID
	c.hs = &hsState{}
	if remoteKey != nil {
		init, err := handshake.NewInitiator(e.cfg.Key, *remoteKey, e.rand)
		if err != nil {
			return nil, fmt.Errorf("qrtp: connect: %w", err)
		}
		c.remoteKey, c.hs.initiator = *remoteKey, init
		c.state, c.kind = stateInit, "0rtt"
	} else {
		c.state, c.kind = stateKeyRequest, "1rtt-learned-key"
	}
	e.byCID[c.localCID()] = c
	e.addConn(c)
	return c, nil
}

// Accept returns the next connection a peer opened, or nil. A connection
// is returned as soon as its Init is authenticated, so its 0-RTT data can
// be read at once.
func (e *Endpoint) Accept() *Conn {
	if len(e.acceptQ) == 0 {
		return nil
	}
	c := e.acceptQ[0]
	e.acceptQ[0] = nil
	e.acceptQ = e.acceptQ[1:]
	return c
}

// Ready returns the connections that queued events (PollEvent), new
// streams included, since the last call, each once: a driver dispatches
// events after HandleDatagram and Poll by visiting these, not every
// connection. A connection that closed is listed with its EventClosed.
// The slice is valid until the next call.
func (e *Endpoint) Ready() []*Conn {
	clear(e.readyOut)
	e.readyOut, e.ready = e.ready, e.readyOut[:0]
	for _, c := range e.readyOut {
		c.ready = false
	}
	return e.readyOut
}

// Conns returns the open connections.
func (e *Endpoint) Conns() []*Conn { return append([]*Conn(nil), e.conns...) }

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() EndpointStats {
	st := e.st
	st.Connections = len(e.conns)
	return st
}

// Close closes every connection (CONNECTION_CLOSE goes out on the next
// Poll) and refuses new ones.
func (e *Endpoint) Close() {
	e.closed = true
	for _, c := range e.conns {
		c.Close(CodeNoError, "endpoint closed")
	}
}

// HandleDatagram processes one datagram that arrived from from at now.
// Anything malformed or unauthenticated is counted and dropped.
func (e *Endpoint) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	e.now = now
	e.st.DatagramsReceived++
	e.st.BytesReceived += uint64(len(b))
	if len(b) == 0 {
		e.st.Malformed++
		return
	}
	if wire.IsLongHeader(b) {
		e.handleLong(now, from, b)
		return
	}
	if err := wire.ParseShortHeader(b, &e.shdr); err != nil {
		e.st.Malformed++
		return
	}
	c := e.byCID[e.shdr.DCID]
	if c == nil {
		e.st.UnknownConnection++
		return
	}
	c.handleShort(now, from, b, &e.shdr)
	e.touch(c)
}

func (e *Endpoint) handleLong(now time.Time, from netip.AddrPort, b []byte) {
	h := &e.lhdr
	if err := wire.ParseLongHeader(b, h); err != nil {
		if err == wire.ErrVersion {
			e.st.VersionMismatch++
		} else {
			e.st.Malformed++
		}
		return
	}
	c := e.byCID[h.DCID]
	switch h.Type {
	case wire.PacketKeyRequest:
		e.answerKeyRequest(from, h)
		return
	case wire.PacketInit:
		if c != nil {
			c.onDuplicateInit(now, from, b)
			e.touch(c)
			return
		}
		e.acceptInit(now, from, b, h)
		return
	}
	if c == nil || !c.initiator {
		e.st.UnknownConnection++
		return
	}
	c.now = now
	e.touch(c)
	switch h.Type {
	case wire.PacketKeyResponse:
		c.onKeyResponse(now, h)
	case wire.PacketRetry:
		c.onRetry(now, h)
	case wire.PacketInitResponse:
		c.onInitResponse(now, b, h)
	}
}

// Poll lets every connection that is due send what it may at now, then
// flushes the stateless answers. Closed connections are forgotten.
func (e *Endpoint) Poll(now time.Time, send func(to netip.AddrPort, b []byte)) {
	e.now = now
	e.refresh()
	e.pollDue(now, send)
	for _, r := range e.stateless {
		e.countSent(len(r.b))
		send(r.to, r.b)
	}
	e.stateless = e.stateless[:0]
}

// NextTimeout is when the endpoint next needs Poll (the zero Time: never).
func (e *Endpoint) NextTimeout() time.Time {
	if len(e.stateless) > 0 {
		return e.now
	}
	e.refresh()
	return e.nextDeadline()
}

func (e *Endpoint) countSent(n int) {
	e.st.DatagramsSent++
	e.st.BytesSent += uint64(n)
}

// maxCIDDraws bounds the draws newCID makes: a random source that keeps
// repeating IDs in use is broken, and looping on it would hang the caller.
const maxCIDDraws = 8

// ErrRandom is returned when the configured random source fails or keeps
// repeating itself; it wraps the source's error, if any.
var ErrRandom = errors.New("qrtp: random source failed")

// newCID returns a random connection ID not in use. It fails, rather than
// panics, when a caller-supplied Config.Rand fails.
func (e *Endpoint) newCID() (wire.ConnectionID, error) {
	var id wire.ConnectionID
	for range maxCIDDraws {
		if _, err := io.ReadFull(e.rand, id[:]); err != nil {
			return id, fmt.Errorf("%w: connection ID: %w", ErrRandom, err)
		}
		if _, used := e.byCID[id]; !used {
			return id, nil
		}
	}
	return id, fmt.Errorf("%w: %d connection IDs in a row already in use", ErrRandom, maxCIDDraws)
}

// logLimited logs a warning at most once per second per message, so a
// flood of bad packets cannot flood the log; counters keep the full count.
func (e *Endpoint) logLimited(now time.Time, msg string, args ...any) {
	if last, ok := e.logTimes[msg]; ok && now.Sub(last) < time.Second {
		return
	}
	e.logTimes[msg] = now
	e.log.Warn("qrtp: "+msg, args...)
}
