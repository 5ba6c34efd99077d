package trunk

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// Core is one node's trunk logic without IO: its QRTP endpoint and trunks
// (peer.go), the control protocol (control.go), the flooded link-state and
// room databases (lsdb.go, roomdb.go), the route planner (package route),
// the forwarding table (flow.go, kept in line by sync.go) and the media
// relay (media.go). It is a state machine in the shape of qrtp.Endpoint:
//
//   - HandleDatagram(now, from, b): a datagram arrived;
//   - Poll(now, send): do what is due at now and send datagrams;
//   - NextTimeout(): when Poll must run next;
//   - from the node's Local side: SetRoom, Want, RequestKeyframe, LocalRTP;
//   - out to the Local side: the Local interface.
//
// Nothing in it reads a clock, starts a goroutine or touches a socket, so
// the real node (Trunk, the UDP driver) and the simulator (trunk/sim, over
// qrtp/netsim) run the same code. Not safe for concurrent use: one
// goroutine drives it.
type Core struct {
	cfg    Config
	log    *slog.Logger
	ep     *qrtp.Endpoint
	local  Local // nil on a forwarding node
	jitter *rand.Rand
	tap    Tap

	peers  []*peer // sorted by name: every sweep is in a fixed order
	byName map[string]*peer
	byKey  map[handshake.PublicKey]*peer

	ls      *lsdb
	rooms   *roomdb
	planner *route.Planner
	seq     uint64     // this node's last LinkState/RoomState sequence number
	seen    seenFrames // flooded frames already read (seen.go)

	flows   *flowTable
	wants   map[TrackRef]uint32 // layers of remote tracks the local side watches
	wantTL  map[TrackRef][]int  // their temporal layers wanted, by layer (temporal.go)
	holding map[*flow]struct{}  // flows with packets held for reordering

	own map[string]*ownRoom // this node's part of each room it is in

	lsDirty, subsDirty bool
	syncing            bool      // inside syncFlows
	syncAt             time.Time // no sync before (zero: at once)
	now                time.Time
	houseAt, lsAt      time.Time
	lsSent             time.Time // last link state originated
	lsLast             LinkState // and what it said
	replanAt, heldAt   time.Time
	roomAt             time.Time  // a room record waits until then
	floodQ             floodQueue // flooded records waiting (flood_batch.go)
	floodAt            time.Time  // they go out then (zero: none wait)
	floodSent          time.Time  // when queued records last went out
	suspectAt          time.Time  // a feeding trunk may turn suspect then
	probedAt           time.Time  // every trunk was last probed then (stall.go)
	kfLater            []flowKey  // flows whose throttled key frame request waits
	kfAt               time.Time  // the first of them is due then (keyframe_later.go)
	http               string
	announce           Announce // for schedulers (announce.go)
	closed             bool
	stats              counters
	data               dataRelay // data.go
	cmd                cmdState  // operator commands and held rooms (command.go)
}

// Tap sees every RTP packet the Core accepts from a trunk (after the
// duplicate filter), before it is relayed: the simulator measures
// per-hop latency with it. b is only valid during the call.
type Tap func(now time.Time, from string, ref TrackRef, layer int, b []byte)

// tickEvery is the period of the Core's housekeeping: dials, link state,
// expiry and re-planning.
const tickEvery = 100 * time.Millisecond

// NewCore validates the configuration and builds a node's Core at now.
// local is the node's media side; it must be nil on a forwarding node and
// set on an access node.
func NewCore(now time.Time, cfg Config, local Local, logger *slog.Logger) (*Core, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, peers, kp, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Role == route.Access && local == nil {
		return nil, fmt.Errorf("%w: an access node needs its SFU", ErrConfig)
	}
	if cfg.Role == route.Forwarding {
		local = nil // forwarding nodes relay between trunks only
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = crand.Reader
	}
	var seed [16]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, fmt.Errorf("trunk: random source: %w", err)
	}
	c := &Core{
		cfg: cfg, log: logger.With("trunk", cfg.Name), local: local,
		jitter: rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))),
		byName: map[string]*peer{}, byKey: map[handshake.PublicKey]*peer{},
		ls: newLSDB(max(4*cfg.LinkStateRefresh, 8*cfg.LinkStateInterval)), rooms: newRoomDB(),
		planner: route.NewPlanner(cfg.Hysteresis), flows: newFlowTable(cfg.Name),
		wants: map[TrackRef]uint32{}, wantTL: map[TrackRef][]int{}, holding: map[*flow]struct{}{}, own: map[string]*ownRoom{},
		// Sequence numbers start at the clock so that a restarted node's
		// records supersede the ones its peers remember.
		seq: uint64(now.UnixNano()), now: now, houseAt: now,
	}
	for _, pi := range peers {
		p := &peer{info: pi, dialer: dials(cfg.Name, pi.Name), backoff: cfg.RedialMin}
		p.reset()
		c.peers = append(c.peers, p)
		c.byName[pi.Name] = p
		c.byKey[pi.Key] = p
	}
	sortPeers(c.peers)
	for i, p := range c.peers {
		p.idx = i
	}
	c.ep, err = qrtp.NewEndpoint(now, qrtp.Config{
		Key: kp, Logger: logger.With("qrtp", cfg.Name), Accept: true, Rand: cfg.Rand,
		Authorize:        func(k handshake.PublicKey) bool { _, ok := c.byKey[k]; return ok },
		HandshakeTimeout: 3 * time.Second,
		Conn:             c.connConfig(),
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// connConfig is every trunk's connection configuration: fast failure
// detection, room for one stream per forwarded track layer, and the
// scenario defaults applied per stream.
func (c *Core) connConfig() qrtp.ConnConfig {
	return qrtp.ConnConfig{
		Profile:            "live",
		CongestionControl:  c.cfg.CongestionControl,
		IdleTimeout:        c.cfg.IdleTimeout,
		KeepAlive:          c.cfg.KeepAlive,
		MaxIncomingStreams: 4096,
	}
}

// Name is the node's name.
func (c *Core) Name() string { return c.cfg.Name }

// PublicKey is the node's static public key.
func (c *Core) PublicKey() handshake.PublicKey { return c.ep.PublicKey() }

// SetTap installs the packet tap (nil removes it).
func (c *Core) SetTap(t Tap) { c.tap = t }

// SetHTTP records the node's web address, advertised in its link state.
func (c *Core) SetHTTP(url string) { c.http = url }

// HandleDatagram hands the Core one datagram that arrived at now; b is
// only valid during the call. What it causes is done by the next Poll.
func (c *Core) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	c.now = now
	c.ep.HandleDatagram(now, from, b)
}

// Poll does everything due at now (housekeeping, connection events,
// flooding, the forwarding table, held packets) and lets the endpoint send,
// calling send once per datagram (b is only valid during the call).
func (c *Core) Poll(now time.Time, send func(to netip.AddrPort, b []byte)) {
	c.now = now
	c.noticeStall(now)
	if !c.closed && !now.Before(c.houseAt) {
		c.houseAt = now.Add(tickEvery)
		c.housekeep(now)
	}
	if !c.closed {
		if !c.roomAt.IsZero() && !now.Before(c.roomAt) {
			c.roomAt = c.flushRooms(now)
		}
		c.suspectAt = c.checkSuspects(now)
		c.kfAt = c.askDeferredKeyframes(now)
	}
	c.service(now)
	if !c.closed && !c.floodAt.IsZero() && !now.Before(c.floodAt) {
		c.flushFloods(now)
	}
	c.heldAt = c.expireHeld(now)
	c.ep.Poll(now, send)
}

// NextTimeout is when Poll must run next.
func (c *Core) NextTimeout() time.Time {
	if c.lsDirty && !c.closed {
		return c.now
	}
	next := c.ep.NextTimeout()
	sync := time.Time{}
	if c.subsDirty {
		sync = c.syncAt
		if sync.Before(c.now) {
			sync = c.now
		}
	}
	for _, t := range []time.Time{c.houseAt, c.heldAt, c.roomAt, c.suspectAt, c.floodAt, c.kfAt, sync} {
		if !c.closed && !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// service runs after every input: new connections, connection events, our
// own link state, then the forwarding table.
func (c *Core) service(now time.Time) {
	for conn := c.ep.Accept(); conn != nil; conn = c.ep.Accept() {
		c.accepted(now, conn)
	}
	for _, p := range c.peers {
		c.markReady()
		if p.events {
			p.events = false
			c.peerEvents(now, p)
		}
	}
	if c.closed {
		return
	}
	// Our own link state first: routes must see our trunks as they are.
	if c.lsDirty {
		c.lsDirty = false
		c.originateLinkState(now)
	}
	if c.subsDirty && !now.Before(c.syncAt) {
		c.subsDirty = false
		c.syncAt = now.Add(syncEvery)
		c.syncFlows(now)
	}
}

// markReady marks the peers whose connections have events to read
// (qrtp.Endpoint.Ready), so that service visits those only. It runs
// before each peer is visited: events a peer's handling raises on a peer
// further down the list are read in the same pass, as if every peer were
// visited; on one already passed, at the next Poll.
func (c *Core) markReady() {
	for _, conn := range c.ep.Ready() {
		if p := c.byKey[conn.RemoteKey()]; p != nil && p.conn == conn {
			p.events = true
		}
	}
}

// syncEvery batches changes of the forwarding table: a burst of
// subscriptions and room records costs one sync. A failure syncs at once
// (resync).
const syncEvery = 10 * time.Millisecond

// resync asks for a sync at the next Poll, whatever the batching.
func (c *Core) resync() {
	c.subsDirty = true
	c.syncAt = time.Time{}
}

// housekeep is the periodic work.
func (c *Core) housekeep(now time.Time) {
	c.dialPeers(now)
	if now.Sub(c.lsAt) >= c.cfg.LinkStateInterval {
		c.lsAt = now
		c.measurePeers()
		if ls := c.linkState(); now.Sub(c.lsSent) >= c.cfg.LinkStateRefresh || significant(c.lsLast, ls) {
			c.originateLinkState(now)
		}
	}
	alive := func(o string) bool { return o == c.cfg.Name || c.peerUp(o) }
	for _, o := range c.ls.expire(now, alive) {
		c.log.Warn("node unreachable: link state expired", "node", o)
		c.originGone(now, o, c.ls.lastSeq(o))
	}
	for _, o := range c.ls.unreachable(now, c.cfg.Name, c.forgetAfter()) {
		c.log.Warn("node unreachable: no path of up trunks", "node", o)
		seq := c.ls.lastSeq(o)
		c.ls.drop(now, o)
		c.originGone(now, o, seq)
	}
	c.rooms.expire(now)
	if now.Sub(c.replanAt) >= c.cfg.ReplanInterval {
		c.replanAt = now
		c.subsDirty = true
	}
}

// Close closes every trunk (peers see CONNECTION_CLOSE and re-route at
// once) and stops taking local layers out. The next Poll sends the
// closes; after it the Core does nothing more.
func (c *Core) Close() {
	if c.closed {
		return
	}
	c.closed = true
	for _, f := range c.flows.sorted() {
		c.stopSending(f)
	}
	c.ep.Close()
}

// nextSeq returns a fresh sequence number for a record this node originates.
func (c *Core) nextSeq() uint64 {
	c.seq++
	return c.seq
}

// forgetAfter is how long a node stays unreachable before it is
// forgotten: a node on the far side of a trunk that just failed is
// reachable again as soon as the other nodes' link state says how.
func (c *Core) forgetAfter() time.Duration { return max(3*time.Second, 2*c.cfg.LinkStateInterval) }

// originGone drops what a node that left the network had announced, and
// remembers its highest sequence number: a late copy of an older record
// (still in flight, or held by a node that reconnects) must not bring it
// back.
func (c *Core) originGone(now time.Time, origin string, seq uint64) {
	for _, room := range c.rooms.dropOrigin(now, origin, seq) {
		if c.local != nil {
			c.local.RemoteChanged(room)
		}
	}
	c.subsDirty = true
}
