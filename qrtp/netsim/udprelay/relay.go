// Package udprelay is a real-time UDP relay that impairs traffic with the
// netsim link model: rate, tail-drop queue, delay, jitter and loss, per
// direction. It stands where netem would on a kernel that has none, between
// two real processes.
//
// The relay listens on one address and forwards to one upstream address.
// Like a NAT it gives every client address its own upstream socket, so
// replies route back to the right client, and it can rebind those sockets
// (new source port towards the upstream) on demand or periodically to
// exercise NAT rebinding and connection migration.
//
// It knows UDP sockets and the netsim link model; it must not know what the
// datagrams carry.
package udprelay

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

	"github.com/qrtn/qrtn/qrtp/netsim"
)

// Config configures a Relay.
type Config struct {
	// Listen is the UDP address clients send to, e.g. "127.0.0.1:0".
	Listen string `yaml:"listen"`
	// Upstream is where their datagrams go.
	Upstream string `yaml:"upstream"`
	// Up impairs client → upstream, Down upstream → client. Each direction
	// is one bottleneck shared by all clients.
	Up   netsim.LinkConfig `yaml:"up"`
	Down netsim.LinkConfig `yaml:"down"`
	// Seed seeds the two links' random sources (Up uses Seed, Down Seed+1).
	Seed uint64 `yaml:"seed"`
	// RebindEvery gives every client a new upstream socket this often;
	// 0 never rebinds except through Relay.Rebind.
	RebindEvery time.Duration `yaml:"rebind_every"`
	// IdleTimeout forgets a client mapping after this long without traffic
	// in either direction; 0 means 2 minutes.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxClients bounds the mappings (and sockets); 0 means 1024. Datagrams
	// from further clients are dropped and counted.
	MaxClients int `yaml:"max_clients"`
	// MaxInFlight bounds the datagrams held in each direction's delay line;
	// 0 means 16384. Beyond it datagrams are dropped and counted.
	MaxInFlight int `yaml:"max_in_flight"`
	// Logger receives lifecycle events; nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 1024
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 16384
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// DirStats counts one direction.
type DirStats struct {
	// Link holds the link model's counters: offered, tail-dropped, lost,
	// delivered, and the queueing-delay histogram.
	Link netsim.LinkStats
	// Overflow counts datagrams dropped because the delay line was full.
	Overflow uint64
	// Written and WriteErrors count socket writes of delivered datagrams.
	Written, WriteErrors uint64
	// ReadLag is how long datagrams waited in the socket before the relay
	// read them (from the kernel's arrival stamp; Linux only), WriteLate
	// how long after their due time they were written: the relay's own
	// scheduling delay on a busy machine. The link model takes each
	// datagram from its kernel arrival time, so read lag up to the
	// emulated delay adds nothing; write lateness always does.
	ReadLag, WriteLate netsim.DelayHistogram
	// InLine is the number of datagrams waiting in the delay line now.
	InLine int
}

// Stats is a snapshot of the relay's counters.
type Stats struct {
	Up, Down   DirStats
	Clients    int    // live mappings
	Rebinds    uint64 // upstream sockets replaced
	Rejected   uint64 // datagrams from clients beyond MaxClients
	ReadErrors uint64 // socket read errors other than closing (e.g. ICMP refused)
}

// Relay forwards and impairs UDP traffic. Its goroutines run until Close is
// called or the context given to New is done.
type Relay struct {
	cfg      Config
	log      *slog.Logger
	listen   *net.UDPConn
	upstream *net.UDPAddr
	up, down *pipe
	pool     sync.Pool

	mu      sync.Mutex
	clients map[netip.AddrPort]*mapping
	closed  bool

	rebinds, rejected, readErrors atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New binds the listening socket and starts the relay. It stops when ctx is
// done or Close is called.
func New(ctx context.Context, cfg Config) (*Relay, error) {
	cfg = cfg.withDefaults()
	up, err := net.ResolveUDPAddr("udp", cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("udprelay: upstream %q: %w", cfg.Upstream, err)
	}
	laddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("udprelay: listen %q: %w", cfg.Listen, err)
	}
	ln, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("udprelay: %w", err)
	}
	bigBuffers(ln)
	enableRxStamp(ln)
	r := &Relay{
		cfg:      cfg,
		log:      cfg.Logger,
		listen:   ln,
		upstream: up,
		clients:  make(map[netip.AddrPort]*mapping),
		done:     make(chan struct{}),
	}
	r.pool.New = func() any { b := make([]byte, 0, 2048); return &b }
	r.up = newPipe(cfg.Up, cfg.Seed, cfg.MaxInFlight, &r.pool)
	r.down = newPipe(cfg.Down, cfg.Seed+1, cfg.MaxInFlight, &r.pool)
	r.spawn(func() { r.up.run(r.done) })
	r.spawn(func() { r.down.run(r.done) })
	r.spawn(r.readClients)
	r.spawn(r.housekeep)
	r.spawn(func() {
		select {
		case <-ctx.Done():
			r.stop()
		case <-r.done:
		}
	})
	r.log.Info("udprelay started", "listen", ln.LocalAddr(), "upstream", up)
	return r, nil
}

// socketBuffer is what the relay asks of the kernel for each socket: a
// sender's burst must not be lost before the link model sees it. Linux caps
// it at net.core.rmem_max / wmem_max.
const socketBuffer = 4 << 20

func bigBuffers(c *net.UDPConn) {
	_ = c.SetReadBuffer(socketBuffer) // best effort: the cap is the kernel's
	_ = c.SetWriteBuffer(socketBuffer)
}

// spawn starts a goroutine owned by the relay.
func (r *Relay) spawn(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

// Addr is the address clients send to.
func (r *Relay) Addr() netip.AddrPort {
	return r.listen.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops the relay, closes its sockets and waits for its goroutines.
// Datagrams still in the delay lines are dropped.
func (r *Relay) Close() error {
	r.stop()
	r.wg.Wait()
	return nil
}

// stop closes everything without waiting, so a relay goroutine may call it.
func (r *Relay) stop() {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.done)
		err := r.listen.Close()
		for addr, m := range r.clients {
			m.close()
			delete(r.clients, addr)
		}
		r.mu.Unlock()
		if err != nil {
			r.log.Warn("udprelay close", "err", err)
		}
	})
}

// Done is closed when the relay stops.
func (r *Relay) Done() <-chan struct{} { return r.done }

// SetLinks changes both directions' link models from the next datagram on.
func (r *Relay) SetLinks(up, down netsim.LinkConfig) {
	r.up.setConfig(up)
	r.down.setConfig(down)
}

// Stats snapshots the counters.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	n := len(r.clients)
	r.mu.Unlock()
	return Stats{
		Up:         r.up.stats(),
		Down:       r.down.stats(),
		Clients:    n,
		Rebinds:    r.rebinds.Load(),
		Rejected:   r.rejected.Load(),
		ReadErrors: r.readErrors.Load(),
	}
}

// readClients forwards datagrams from clients into the up pipe.
func (r *Relay) readClients() {
	buf, oob := make([]byte, 65536), make([]byte, oobSize)
	for {
		n, oobn, _, from, err := r.listen.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.readErrors.Add(1)
			continue
		}
		now := time.Now()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		m, err := r.mappingFor(from, now)
		if err != nil {
			r.rejected.Add(1)
			continue
		}
		r.up.enqueue(now, readLag(now, oob[:oobn]), buf[:n], m.writeUp)
	}
}

// housekeep forgets idle clients and performs periodic rebinding.
func (r *Relay) housekeep() {
	tick := r.cfg.IdleTimeout / 4
	if e := r.cfg.RebindEvery; e > 0 && e < tick {
		tick = e
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastRebind := time.Now()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			r.reap(now)
			if e := r.cfg.RebindEvery; e > 0 && now.Sub(lastRebind) >= e {
				lastRebind = now
				if err := r.Rebind(); err != nil {
					r.log.Warn("udprelay rebind", "err", err)
				}
			}
		}
	}
}

func (r *Relay) reap(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, m := range r.clients {
		if now.Sub(time.Unix(0, m.lastActive.Load())) > r.cfg.IdleTimeout {
			m.close()
			delete(r.clients, addr)
			r.log.Debug("udprelay client idle", "client", addr)
		}
	}
}

// Rebind gives every client a new upstream socket (a new source port as
// the upstream sees it). Replies still addressed to the old port are lost,
// as behind a real NAT that rebinds.
func (r *Relay) Rebind() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return net.ErrClosed
	}
	var errs []error
	for _, m := range r.clients {
		if err := r.bind(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
