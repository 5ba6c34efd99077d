package qrtp

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

type connState uint8

const (
	stateKeyRequest  connState = iota // initiator: asking for the responder's key
	stateInit                         // initiator: Init to be built (again, after a Retry)
	stateInitSent                     // initiator: waiting for InitResponse
	stateResponding                   // responder: waiting for the first short packet
	stateEstablished                  // keys in both directions, address validated
	stateClosing                      // we sent CONNECTION_CLOSE
	stateDraining                     // the peer sent CONNECTION_CLOSE
	stateClosed
)

func (s connState) String() string {
	return [...]string{"key_request", "init", "init_sent", "responding", "established", "closing", "draining", "closed"}[s]
}

// Conn is one QRTP connection: a sans-IO state machine driven by its
// Endpoint. Applications use its streams and events between the
// Endpoint's HandleDatagram and Poll calls. Not safe for concurrent use;
// a driver serialises access to the Endpoint and its connections.
type Conn struct {
	ep        *Endpoint
	cfg       ConnConfig
	prof      Profile
	log       *slog.Logger
	initiator bool
	state     connState
	kind      string
	retried   bool
	remoteKey handshake.PublicKey
	now       time.Time // the latest time we were handed
	created   time.Time

	localCIDs   []wire.ConnectionID // index = sequence number
	remoteCID   wire.ConnectionID
	spareCIDs   []wire.ConnectionID // issued by the peer, unused
	initialDCID wire.ConnectionID

	hs          *hsState
	keys        packetKeys
	replay      handshake.ReplayWindow
	largestRecv uint64
	anyRecv     bool

	path, prevPath path

	rec    *recovery
	acks   ackState
	pacer  pacer
	frames []sentFrame // frames of the packet being built
	fecTx  *fecSend
	fecRx  *fecRecv

	streams         map[uint64]*Stream
	nextLocalSeq    uint64
	peerMaxStreams  uint64   // we may open sequences below this
	streamsBlocked  bool     // OpenStream hit the limit: tell when it rises
	localMaxStreams uint64   // the peer may open sequences below this
	peerSeqs        rangeSet // sequences the peer has opened
	acceptQ         []*Stream
	sched           scheduler
	blockedOnConn   []*Stream
	// dupWait: streams whose second copy of a tail waits for the next
	// packet (StreamOptions.Redundant); re-activated after each packet.
	dupWait []*Stream

	// Connection-level flow control for reliable streams.
	sendMax, sentData                  uint64
	recvMax, recvHighest, recvConsumed uint64
	recvWindow                         uint64
	recvLastUpdate                     time.Time
	msgBuffered                        int

	ctl    control
	events eventQueue
	st     ConnStats

	closeErr          error
	closeDeadline     time.Time
	closeSends        int
	closeResend       bool
	lastRecv          time.Time
	lastElicitingSent time.Time
	handshakeDeadline time.Time
	nextMsgDeadline   time.Time
	polledFull        bool // the last poll stopped at maxPacketsPerPoll
	ready             bool // listed in the endpoint's ready list
	// Scheduling in the endpoint (endpoint_timers.go).
	deadline         time.Time
	heapIdx, connIdx int
	touched          bool
}

// markReady lists the connection for Endpoint.Ready.
func (c *Conn) markReady() {
	if !c.ready {
		c.ready = true
		c.ep.ready = append(c.ep.ready, c)
	}
}

func newConn(e *Endpoint, now time.Time, initiator bool, addr netip.AddrPort, cfg ConnConfig, prof Profile) (*Conn, error) {
	cid, err := e.newCID()
	if err != nil {
		return nil, err
	}
	ctrl, err := newController(cfg, e.cfg.MaxDatagramSize, binary.LittleEndian.Uint64(cid[:]), e.log)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		ep: e, cfg: cfg, prof: prof, initiator: initiator,
		log:     e.log,
		now:     now,
		created: now,
		rec:     newRecovery(ctrl),
		pacer:   pacer{burst: cfg.PacerBurst, mss: e.cfg.MaxDatagramSize},
		streams: make(map[uint64]*Stream),

		localCIDs: []wire.ConnectionID{cid},

		peerMaxStreams:    initialMaxStreams,
		localMaxStreams:   uint64(cfg.MaxIncomingStreams),
		sendMax:           initialConnWindow,
		recvMax:           uint64(cfg.ConnReceiveWindow),
		recvWindow:        uint64(cfg.ConnReceiveWindow),
		path:              path{addr: addr, validated: initiator},
		lastRecv:          now,
		handshakeDeadline: now.Add(e.cfg.HandshakeTimeout),
		heapIdx:           -1,
		connIdx:           -1,
	}
	c.sched.quantum = e.cfg.MaxDatagramSize
	c.fecTx = newFECSend(c.maxFramePayload())
	c.fecRx = newFECRecv(c.maxFramePayload())
	c.events.max = cfg.MaxEvents
	c.events.notify = c.markReady
	// Announce our real limits in the first flight; the peer starts from
	// the protocol's initial values.
	c.ctl.maxData = c.recvMax > initialConnWindow
	c.ctl.maxStreams = c.localMaxStreams > initialMaxStreams
	return c, nil
}

// OpenStream opens a stream with the given options (zero fields inherit
// from the connection's configuration and profile). Data written before
// the handshake completes on an initiator goes in the first datagram.
func (c *Conn) OpenStream(opts StreamOptions) (*Stream, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	o, err := resolveStream(&c.prof, &c.cfg, opts)
	if err != nil {
		return nil, err
	}
	if c.nextLocalSeq >= c.peerMaxStreams {
		c.streamsBlocked = true
		return nil, ErrStreamLimit
	}
	c.touch()
	id := streamID(c.nextLocalSeq, o.Mode, !c.initiator)
	c.nextLocalSeq++
	return c.newStream(id, o, true), nil
}

// AcceptStream returns the next stream the peer opened, or nil.
func (c *Conn) AcceptStream() *Stream {
	for len(c.acceptQ) > 0 {
		s := c.acceptQ[0]
		c.acceptQ[0] = nil
		c.acceptQ = c.acceptQ[1:]
		if !s.removed || s.recvHasData() {
			return s
		}
	}
	return nil
}

// Stream returns the open stream with that ID, or nil.
func (c *Conn) Stream(id uint64) *Stream { return c.streams[id] }

// PollEvent returns the next event; ok is false when none is queued.
func (c *Conn) PollEvent() (ev Event, ok bool) { return c.events.pop() }

// Close closes the connection with an application error code, telling the
// peer with CONNECTION_CLOSE. Streams stop at once.
func (c *Conn) Close(code ErrorCode, reason string) {
	c.touch()
	c.closeLocal(&CloseError{Code: code, Reason: reason})
}

// Ping asks the peer for an acknowledgement (an RTT sample, a liveness check).
func (c *Conn) Ping() {
	c.ctl.ping = true
	c.touch()
}

// RemoteAddr is the peer's current address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.path.addr }

// RemoteKey is the peer's static public key (learned from a KeyResponse
// for "1rtt-learned-key" handshakes).
func (c *Conn) RemoteKey() handshake.PublicKey { return c.remoteKey }

// Initiator reports whether this side started the connection.
func (c *Conn) Initiator() bool { return c.initiator }

// HandshakeKind is "0rtt", "1rtt-learned-key", or "" before it is known.
func (c *Conn) HandshakeKind() string { return c.kind }

// Established reports whether the handshake has completed and the
// connection is not closing.
func (c *Conn) Established() bool { return c.state == stateEstablished }

// LastReceived is when the last authenticated packet from the peer
// arrived; an application that expects steady traffic (a trunk carrying
// media) can suspect a silent peer well before the idle timeout.
func (c *Conn) LastReceived() time.Time { return c.lastRecv }

// Err is why the connection closed, or nil while it is open.
func (c *Conn) Err() error { return c.closeErr }

// Profile is the connection's effective profile name.
func (c *Conn) Profile() string { return c.cfg.Profile }

// Stats returns a snapshot of the connection's counters and estimates.
func (c *Conn) Stats() ConnStats {
	st := c.st
	r := c.rec
	st.HandshakeKind, st.Retried, st.State, st.Profile = c.kind, c.retried, c.state.String(), c.cfg.Profile
	st.MinRTT, st.SmoothedRTT, st.RTTVar, st.LatestRTT = r.rtt.min, r.rtt.smoothed, r.rtt.variance, r.rtt.latest
	st.DeliveryRate = r.deliveryRate
	st.PacketsSent, st.PacketsAcked, st.PacketsLost = r.stats.sent, r.stats.acked, r.stats.lost
	st.SpuriousLosses = r.stats.spurious
	if r.stats.sent > 0 {
		st.LossRate = float64(r.stats.lost) / float64(r.stats.sent)
	}
	st.BytesSent, st.BytesAcked = r.stats.bytesSent, r.stats.bytesAcked
	st.CWND, st.BytesInFlight = r.cc.CongestionWindow(), r.bytesInFlight
	st.PacingRate = r.cc.PacingRate()
	st.CongestionControl, st.Controller = c.cfg.CongestionControl, r.cc.Stats()
	st.PTOCount = r.stats.ptos
	c.fecStats(&st)
	st.EventsDropped = c.events.dropped
	st.Streams = len(c.streams)
	return st
}

// usable reports whether the application may still queue data.
func (c *Conn) usable() error {
	if c.state >= stateClosing {
		if c.closeErr != nil {
			return c.closeErr
		}
		return ErrClosed
	}
	return nil
}

func (c *Conn) newStream(id uint64, opts StreamOptions, local bool) *Stream {
	s := &Stream{c: c, id: id, opts: opts, local: local}
	switch opts.Mode {
	case ModeReliable:
		s.rs = newRelSend(opts.SendBuffer)
		s.rr = newRelRecv(c.cfg.StreamReceiveWindow, c.cfg.MaxStreamReceiveWindow)
		s.rs.ring.pool, s.rr.ring.pool = &c.ep.blocks, &c.ep.blocks
		if s.rr.window > initialStreamWindow {
			s.rr.maxData = s.rr.window
			c.queueMaxStreamData(s)
		}
	case ModeMessage:
		s.ms = newMsgSend(opts.SendBuffer)
		s.mr = newMsgRecv(c.cfg.MessageBuffer)
	case ModeDatagram:
		s.ds = &dgSend{limit: opts.SendBuffer}
		s.dr = &dgRecv{limit: c.cfg.DatagramQueue}
	}
	c.streams[id] = s
	return s
}

// streamFor finds the stream a frame refers to, opening peer streams on
// first sight. It returns nil, nil for a stream that existed and is gone.
func (c *Conn) streamFor(id uint64) (*Stream, error) {
	if s := c.streams[id]; s != nil {
		return s, nil
	}
	seq, mode := streamSeq(id), streamMode(id)
	if streamByResponder(id) != c.initiator { // opened by us
		if seq < c.nextLocalSeq {
			return nil, nil
		}
		return nil, protoErr(CodeProtocolViolation, "frame for stream %d we never opened", id)
	}
	if mode > ModeDatagram {
		return nil, protoErr(CodeProtocolViolation, "stream %d has unknown mode", id)
	}
	if c.peerSeqs.contains(seq) {
		return nil, nil
	}
	if seq >= c.localMaxStreams {
		return nil, protoErr(CodeStreamLimit, "stream %d beyond limit %d", seq, c.localMaxStreams)
	}
	opts, err := resolveStream(&c.prof, &c.cfg, StreamOptions{Mode: mode})
	if err != nil {
		return nil, err
	}
	s := c.newStream(id, opts, false)
	c.peerSeqs.add(seq, seq+1)
	c.acceptQ = append(c.acceptQ, s)
	c.events.push(Event{Kind: EventStreamOpened, StreamID: id})
	return s, nil
}

// maybeRemove forgets a stream whose both halves are finished; a peer
// stream's slot is returned to the peer with MAX_STREAMS.
func (c *Conn) maybeRemove(s *Stream) {
	if s.removed || !s.sendDone() || !s.recvDone() {
		return
	}
	s.removed = true
	c.sched.deactivate(s)
	delete(c.streams, s.id)
	if s.rs != nil {
		s.rs.ring.release()
		s.rr.ring.release()
	}
	if !s.local {
		c.localMaxStreams++
		c.ctl.maxStreams = true
	}
}

func (s *Stream) recvHasData() bool {
	switch {
	case s.rr != nil:
		return s.rr.available() > 0
	case s.mr != nil:
		return s.mr.readable()
	case s.dr != nil:
		return len(s.dr.q) > 0
	}
	return false
}

func (c *Conn) signalReadable(s *Stream) {
	if !s.readSignaled {
		s.readSignaled = true
		c.events.push(Event{Kind: EventStreamReadable, StreamID: s.id})
	}
}

func (c *Conn) signalWritable(s *Stream) {
	if s.writeBlocked {
		s.writeBlocked = false
		c.events.push(Event{Kind: EventStreamWritable, StreamID: s.id})
	}
}

// onStreamRead returns flow-control credit after the application read n bytes.
func (c *Conn) onStreamRead(s *Stream, n int) {
	c.recvConsumed += uint64(n)
	srtt := c.rec.rtt.srtt()
	if c.recvMax-c.recvConsumed < c.recvWindow/2 {
		if !c.recvLastUpdate.IsZero() && c.now.Sub(c.recvLastUpdate) < 2*srtt {
			c.recvWindow = min(2*c.recvWindow, uint64(c.cfg.MaxConnReceiveWindow))
		}
		c.recvLastUpdate = c.now
		c.recvMax = c.recvConsumed + c.recvWindow
		c.ctl.maxData = true
	}
	if s.rr.wantUpdate() {
		s.rr.update(uint64(c.now.Sub(c.created)), uint64(srtt))
		c.queueMaxStreamData(s)
	}
}

// maxFramePayload is the most frame bytes a short packet can carry.
func (c *Conn) maxFramePayload() int { return c.ep.cfg.MaxDatagramSize - maxShortOverhead }

func (c *Conn) localCID() wire.ConnectionID { return c.localCIDs[0] }

// newController builds the named controller; seed (from the connection
// ID) keeps controllers' randomness independent between connections and
// repeatable in simulations.
func newController(cfg ConnConfig, mss int, seed uint64, log *slog.Logger) (cc.Controller, error) {
	return cc.New(cfg.CongestionControl, cc.Config{MSS: mss, Seed: seed, InitialWindow: cfg.InitialWindow, Logger: log})
}
