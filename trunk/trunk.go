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

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/udp"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/trunk/route"
)

// Trunk is the real-time driver of a node's Core: one UDP socket, a reader
// goroutine, and one goroutine (the loop) that owns the Core and, on an
// access node, the SFU glue (accessSide). Everything else (SFU callbacks,
// HTTP) talks to the loop through channels and a call queue, never by
// touching the Core. It is the only place in the package that reads the
// clock or touches a socket.
type Trunk struct {
	name   string
	log    *slog.Logger
	core   *Core
	access *accessSide // nil on forwarding nodes
	admin  adminSide   // operator commands (admin.go)
	sock   *net.UDPConn
	// buffers: the socket buffer sizes asked for and granted (set once in
	// New, read by publishStatus).
	buffers udp.SocketBuffers

	rx    chan datagram
	media chan localPacket
	bufs  bufPool
	calls callQueue
	drops driverCounters

	status    atomic.Pointer[Status]
	announce  atomic.Pointer[Announce]   // the node's own, set from any goroutine (announce.go)
	view      atomic.Pointer[[]NodeView] // every node, for schedulers
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	readDone  chan struct{}
	started   atomic.Bool
	// lastNow is the latest time handed to the Core (see clock); the
	// loop's alone.
	lastNow time.Time
}

// driverCounters count what the driver and the SFU glue drop outside the
// loop (SFU receivers, feed goroutines).
type driverCounters struct {
	sinkDrops, deliverDrops, badMedia, sendErrors atomic.Uint64
}

type datagram struct {
	from netip.AddrPort
	b    *[]byte   // from the driver's pool
	at   time.Time // when the reader got it from the socket
}

// Queue bounds of the driver (docs/packet-path.md).
const (
	// rxQueue: datagrams read but not yet handed to the Core. The reader
	// blocks when it is full, leaving the backlog in the socket buffer.
	rxQueue = 1024
	// mediaQueue: packets of local layers on their way to the Core; a full
	// queue drops (Status.SinkDrops).
	mediaQueue = 4096
	// socketBuffer is what the QRTP socket asks the kernel for, each way.
	socketBuffer = 4 << 20
)

// New validates the configuration, binds the QRTP socket and builds the
// node's Core. s is the node's SFU, nil on a forwarding node. Call Start,
// and Close in any case.
func New(cfg Config, s *sfu.SFU, logger *slog.Logger) (*Trunk, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	listen := cfg.Listen
	if listen == "" {
		listen = defaultListen
	}
	ua, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("trunk: listen %q: %w", listen, err)
	}
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: node name missing", ErrConfig)
	}
	t := &Trunk{name: cfg.Name, log: logger.With("trunk", cfg.Name),
		rx: make(chan datagram, rxQueue), media: make(chan localPacket, mediaQueue),
		stop: make(chan struct{}), done: make(chan struct{}), readDone: make(chan struct{})}
	t.calls.notify = make(chan struct{}, 1)
	var local Local
	if s != nil && cfg.Role != route.Forwarding {
		t.access = newAccessSide(s, t.log, &t.calls, t.media, &t.bufs, &t.drops)
		local = t.access
	}
	now := time.Now()
	t.core, err = NewCore(now, cfg, local, logger)
	if err != nil {
		return nil, err
	}
	t.admin.t = t
	t.core.SetCommandSink(&t.admin)
	if t.access != nil {
		t.access.core = t.core
		// A room that opens is mirrored at once, not at the next tick: the
		// remote tracks it needs are a trunk round trip away.
		s.OnRoomOpen(func(string) { t.calls.push(t.access.housekeep) })
	}
	sock, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("trunk: listen %q: %w", listen, err)
	}
	// Media bursts (a key frame is tens of packets, on every trunk at once)
	// must not overflow the default socket buffers. The kernel caps the
	// request silently at net.core.rmem_max / wmem_max, so what it granted
	// is read back, logged when capped and shown in Status.Socket.
	t.buffers, err = udp.SetSocketBuffers(sock, socketBuffer, socketBuffer, t.log)
	if err != nil {
		t.log.Warn("trunk: cannot size the socket buffers", "err", err)
	}
	t.sock = sock
	t.publishStatus(now)
	return t, nil
}

// Addr is the QRTP socket's local address.
func (t *Trunk) Addr() netip.AddrPort {
	ap := t.sock.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// PublicKey is the node's static public key.
func (t *Trunk) PublicKey() handshake.PublicKey { return t.core.PublicKey() }

// Name is the node's name.
func (t *Trunk) Name() string { return t.name }

// SetHTTP records the node's web address, advertised in its link state so
// that the network page can link every node.
func (t *Trunk) SetHTTP(url string) {
	t.calls.push(func(time.Time) { t.core.SetHTTP(url) })
}

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
		t.waitCommands()
	})
	return nil
}

// read is the socket reader: it hands datagrams to the loop, each in a
// pooled buffer the loop returns after the Core read it.
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
		// The arrival time is taken here, not when the loop gets to
		// the datagram: time queued in rx is the host's, not the
		// network's, and must not shorten the Core's RTT samples.
		at := time.Now()
		b := t.bufs.get(n)
		*b = append((*b)[:0], buf[:n]...)
		d := datagram{from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), b: b, at: at}
		select {
		case t.rx <- d:
		case <-t.stop:
			return
		}
	}
}

// housekeepEvery is the period of the SFU glue's housekeeping (rooms that
// opened or closed) and of the status snapshot.
const housekeepEvery = 100 * time.Millisecond

func (t *Trunk) loop(ctx context.Context) {
	defer close(t.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(housekeepEvery)
	defer tick.Stop()
	t.runCalls(t.clock(time.Now()))
	for {
		select {
		case <-ctx.Done():
			t.shutdown()
			return
		case <-t.stop:
			t.shutdown()
			return
		case d := <-t.rx:
			t.datagrams(d)
		case m := <-t.media:
			now := t.clock(time.Now())
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
			t.runCalls(t.clock(time.Now()))
		case <-timer.C:
		case <-tick.C:
			now := t.clock(time.Now())
			if t.access != nil {
				t.access.housekeep(now)
			}
			t.publishStatus(now)
			t.refreshView(now)
		}
		now := t.clock(time.Now())
		t.core.Poll(now, t.send)
		if next := t.core.NextTimeout(); !next.IsZero() {
			timer.Reset(max(next.Sub(now), 0))
		} else {
			timer.Reset(time.Hour)
		}
	}
}

// maxRxBatch caps the datagrams the loop hands the Core per wake-up. Past
// it the loop polls the Core (its timers and sends) and goes back to the
// select, where timers, local media and calls get their turn: a flood of
// arriving datagrams must not starve them. What stays queued is read at
// the next turn, still at its own arrival time.
const maxRxBatch = 64

// datagrams hands the Core d and up to maxRxBatch-1 datagrams already
// queued behind it, each at its own arrival time. One clock reading for the whole batch
// would be wrong: the reader goes on filling rx while the loop works
// (or is descheduled on a busy machine), and an ACK read 60 ms after
// that reading would yield an RTT sample 60 ms short of the path's
// delay — below the real minimum, which starves BBR's window.
func (t *Trunk) datagrams(d datagram) {
	for n := 1; ; n++ {
		t.core.HandleDatagram(t.clock(d.at), d.from, *d.b)
		t.bufs.put(d.b)
		if n == maxRxBatch {
			return
		}
		select {
		case d = <-t.rx:
		default:
			return
		}
	}
}

// clock returns at, or the latest time already handed to the Core if that
// is later: the Core must never see time go backwards, and a datagram's
// arrival time is read by the reader while the loop may already have
// polled with a later time. Called by the loop only.
func (t *Trunk) clock(at time.Time) time.Time {
	if at.Before(t.lastNow) {
		return t.lastNow
	}
	t.lastNow = at
	return at
}

func (t *Trunk) localMedia(now time.Time, m localPacket) {
	t.core.LocalRTP(now, m.key.track, m.key.layer, *m.data)
	t.bufs.put(m.data)
}

func (t *Trunk) send(to netip.AddrPort, b []byte) {
	if _, err := t.sock.WriteToUDPAddrPort(b, to); err != nil {
		t.drops.sendErrors.Add(1)
	}
}

// shutdown closes every trunk and lets the endpoint send the closes.
func (t *Trunk) shutdown() {
	now := t.clock(time.Now())
	if t.access != nil {
		t.access.sfu.OnRoomOpen(nil)
		t.access.close(now)
	}
	t.core.Close()
	t.core.Poll(now, t.send)
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

// localPacket is one RTP packet a local receiver handed to a trunk sink,
// in a buffer of the driver's pool.
type localPacket struct {
	key  flowKey
	data *[]byte
}

// bufPool recycles the buffers that carry datagrams and local packets
// from other goroutines to the loop, so that neither costs an allocation
// per packet.
type bufPool struct{ p sync.Pool }

// maxPooled: larger buffers (never an RTP packet or a QRTP datagram) are
// not kept.
const maxPooled = 2048

func (bp *bufPool) get(n int) *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, 0, max(n, 1500))
	return &b
}

func (bp *bufPool) put(b *[]byte) {
	if cap(*b) <= maxPooled {
		bp.p.Put(b)
	}
}
