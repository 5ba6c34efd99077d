package trunk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/trunk/route"
)

// Trunk is one node's side of the network: its QRTP endpoint, its trunks to
// configured peers, the flooded link-state and room databases, the route
// planner and the forwarding table. On an access node it also mirrors
// remote participants into the local SFU and takes local tracks out of it.
//
// One goroutine (the loop) owns all of that state. Everything else (the
// socket reader, SFU callbacks, HTTP) talks to it through channels and a
// queue, never by touching the state.
type Trunk struct {
	cfg   Config
	log   *slog.Logger
	key   handshake.KeyPair
	sfu   *sfu.SFU // nil on forwarding nodes
	sock  *net.UDPConn
	ep    *qrtp.Endpoint
	start time.Time

	peers map[string]*peer
	byKey map[handshake.PublicKey]*peer

	ls      *lsdb
	rooms   *roomdb
	planner *route.Planner
	seq     uint64 // this node's last LinkState/RoomState sequence number

	flows     map[flowKey]*flow
	holding   map[*flow]struct{} // flows with packets held for reordering
	subsDirty bool
	syncing   bool // inside syncFlows
	lsDirty   bool
	replanAt  time.Time
	lsAt      time.Time
	stats     counters

	access *accessSide // nil on forwarding nodes
	data   dataRelay

	rx    chan datagram
	media chan localPacket
	calls callQueue

	status atomic.Pointer[Status]
	http   atomic.Value // string: the node's web address, for link state

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	readDone  chan struct{}
	started   atomic.Bool
}

type datagram struct {
	from netip.AddrPort
	b    []byte
}

// New validates the configuration, loads the key and binds the QRTP
// socket. s is the node's SFU, nil on a forwarding node. Call Start, and
// Close in any case.
func New(cfg Config, s *sfu.SFU, logger *slog.Logger) (*Trunk, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, peers, kp, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Role == route.Access && s == nil {
		return nil, fmt.Errorf("%w: an access node needs its SFU", ErrConfig)
	}
	if cfg.Role == route.Forwarding {
		s = nil // forwarding nodes relay between trunks only
	}
	ua, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("trunk: listen %q: %w", cfg.Listen, err)
	}
	sock, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("trunk: listen %q: %w", cfg.Listen, err)
	}
	// Media bursts (a key frame is tens of packets) must not overflow the
	// default socket buffers.
	_ = sock.SetReadBuffer(4 << 20)
	_ = sock.SetWriteBuffer(4 << 20)

	now := time.Now()
	t := &Trunk{
		cfg: cfg, log: logger.With("trunk", cfg.Name), key: kp, sfu: s, sock: sock, start: now,
		peers: map[string]*peer{}, byKey: map[handshake.PublicKey]*peer{},
		ls: newLSDB(max(8*cfg.LinkStateInterval, 4*time.Second)), rooms: newRoomDB(), planner: route.NewPlanner(cfg.Hysteresis),
		flows: map[flowKey]*flow{}, holding: map[*flow]struct{}{},
		// Sequence numbers start at the wall clock so that a restarted node's
		// records supersede the ones its peers remember.
		seq: uint64(now.UnixNano()),
		rx:  make(chan datagram, 1024), media: make(chan localPacket, 4096),
		stop: make(chan struct{}), done: make(chan struct{}), readDone: make(chan struct{}),
	}
	t.calls.notify = make(chan struct{}, 1)
	t.http.Store("")
	for _, pi := range peers {
		p := &peer{info: pi, dialer: dials(cfg.Name, pi.Name), backoff: cfg.RedialMin}
		t.peers[pi.Name] = p
		t.byKey[pi.Key] = p
	}
	t.ep, err = qrtp.NewEndpoint(now, qrtp.Config{
		Key: kp, Logger: logger.With("qrtp", cfg.Name), Accept: true,
		Authorize:        func(k handshake.PublicKey) bool { _, ok := t.byKey[k]; return ok },
		HandshakeTimeout: 3 * time.Second,
		Conn:             t.connConfig(),
	})
	if err != nil {
		_ = sock.Close()
		return nil, err
	}
	if s != nil {
		t.access = newAccessSide(t, s)
	}
	t.publishStatus(now)
	return t, nil
}

// connConfig is every trunk's connection configuration: fast failure
// detection, room for one stream per forwarded track layer, and the
// scenario defaults applied per stream.
func (t *Trunk) connConfig() qrtp.ConnConfig {
	return qrtp.ConnConfig{
		Profile:            "live",
		CongestionControl:  t.cfg.CongestionControl,
		IdleTimeout:        t.cfg.IdleTimeout,
		KeepAlive:          t.cfg.KeepAlive,
		MaxIncomingStreams: 4096,
	}
}

// Addr is the QRTP socket's local address.
func (t *Trunk) Addr() netip.AddrPort {
	ap := t.sock.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// PublicKey is the node's static public key.
func (t *Trunk) PublicKey() handshake.PublicKey { return t.key.Public }

// Name is the node's name.
func (t *Trunk) Name() string { return t.cfg.Name }

// SetHTTP records the node's web address, advertised in its link state so
// that the network page can link every node.
func (t *Trunk) SetHTTP(url string) { t.http.Store(url) }

// Start runs the trunk until Close or until ctx ends.
func (t *Trunk) Start(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return errors.New("trunk: already started")
	}
	go t.read()
	go t.loop(ctx)
	return nil
}

// Close stops the trunk: trunks are closed (peers see CONNECTION_CLOSE and
// re-route at once), mirrored participants leave the SFU and the socket
// closes. It waits for the trunk's goroutines.
func (t *Trunk) Close() error {
	t.closeOnce.Do(func() {
		close(t.stop)
		if t.started.Load() {
			<-t.done
		} else {
			_ = t.sock.Close()
			close(t.readDone)
		}
		<-t.readDone
	})
	return nil
}

// read is the socket reader: it hands datagrams to the loop.
func (t *Trunk) read() {
	defer close(t.readDone)
	buf := make([]byte, 64<<10)
	for {
		n, from, err := t.sock.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors and the like: keep reading
		}
		d := datagram{from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), b: append([]byte(nil), buf[:n]...)}
		select {
		case t.rx <- d:
		case <-t.stop:
			return
		}
	}
}

// tickEvery is the loop's housekeeping period: dials, link state,
// re-planning, room mirroring and the status snapshot.
const tickEvery = 100 * time.Millisecond

func (t *Trunk) loop(ctx context.Context) {
	defer close(t.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	t.housekeep(time.Now())
	for {
		select {
		case <-ctx.Done():
			t.shutdown()
			return
		case <-t.stop:
			t.shutdown()
			return
		case d := <-t.rx:
			now := time.Now()
			t.ep.HandleDatagram(now, d.from, d.b)
			for more := true; more; {
				select {
				case d = <-t.rx:
					t.ep.HandleDatagram(now, d.from, d.b)
				default:
					more = false
				}
			}
		case m := <-t.media:
			now := time.Now()
			t.localMedia(now, m)
			for more := 64; more > 0; more-- {
				select {
				case m = <-t.media:
					t.localMedia(now, m)
				default:
					more = 0
				}
			}
		case <-t.calls.notify:
			t.runCalls(time.Now())
		case <-timer.C:
		case <-tick.C:
			t.housekeep(time.Now())
		}
		now := time.Now()
		t.service(now)
		next := t.ep.NextTimeout()
		if held := t.expireHeld(now); !held.IsZero() && (next.IsZero() || held.Before(next)) {
			next = held
		}
		if !next.IsZero() {
			timer.Reset(max(next.Sub(now), 0))
		} else {
			timer.Reset(time.Hour)
		}
	}
}

// service runs after every input: new connections, connection events,
// subscription changes, then lets the endpoint send.
func (t *Trunk) service(now time.Time) {
	for c := t.ep.Accept(); c != nil; c = t.ep.Accept() {
		t.accepted(now, c)
	}
	for _, p := range t.peers {
		t.peerEvents(now, p)
	}
	// Our own link state first: routes must see our trunks as they are.
	if t.lsDirty {
		t.lsDirty = false
		t.originateLinkState(now)
	}
	if t.subsDirty {
		t.subsDirty = false
		t.syncFlows(now)
	}
	t.ep.Poll(now, t.send)
}

func (t *Trunk) send(to netip.AddrPort, b []byte) {
	if _, err := t.sock.WriteToUDPAddrPort(b, to); err != nil {
		t.stats.sendErrors++
	}
}

// housekeep is the periodic work of the loop.
func (t *Trunk) housekeep(now time.Time) {
	t.dialPeers(now)
	if now.Sub(t.lsAt) >= t.cfg.LinkStateInterval {
		t.measurePeers(now)
		t.originateLinkState(now)
	}
	alive := func(o string) bool { return o == t.cfg.Name || t.peerUp(o) }
	for _, o := range t.ls.expire(now, alive) {
		t.log.Warn("node unreachable: link state expired", "node", o)
		t.originGone(now, o)
	}
	t.rooms.expire(now)
	if now.Sub(t.replanAt) >= t.cfg.ReplanInterval {
		t.replanAt = now
		t.subsDirty = true
	}
	if t.access != nil {
		t.access.housekeep(now)
	}
	t.publishStatus(now)
}

// shutdown closes every trunk and lets the endpoint send the closes.
func (t *Trunk) shutdown() {
	if t.access != nil {
		t.access.close()
	}
	for _, f := range t.flows {
		f.dropSink()
	}
	t.ep.Close()
	t.ep.Poll(time.Now(), t.send)
	_ = t.sock.Close()
}

// callQueue carries calls from SFU goroutines into the loop without ever
// blocking them (the SFU calls back with its locks held).
type callQueue struct {
	mu      sync.Mutex
	calls   []func(now time.Time)
	dropped uint64
	notify  chan struct{}
}

// maxCalls bounds the queue; SFU callbacks are rare (layer changes, key
// frame requests, room events), so reaching it means the loop is stuck.
const maxCalls = 1 << 16

func (q *callQueue) push(f func(now time.Time)) {
	q.mu.Lock()
	if len(q.calls) < maxCalls {
		q.calls = append(q.calls, f)
	} else {
		q.dropped++
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (t *Trunk) runCalls(now time.Time) {
	t.calls.mu.Lock()
	calls := t.calls.calls
	t.calls.calls = nil
	t.calls.mu.Unlock()
	for _, f := range calls {
		f(now)
	}
}

// nextSeq returns a fresh sequence number for a record this node originates.
func (t *Trunk) nextSeq() uint64 {
	t.seq++
	return t.seq
}
