package udprelay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// errTooManyClients rejects a client beyond Config.MaxClients.
var errTooManyClients = errors.New("udprelay: too many clients")

// mapping is one client's NAT entry: its own socket towards the upstream.
type mapping struct {
	r          *Relay
	client     netip.AddrPort
	conn       atomic.Pointer[net.UDPConn]
	lastActive atomic.Int64 // Unix nanoseconds

	// Bound once so that enqueueing a datagram allocates no closure.
	writeUp, writeDown func(b []byte) error
}

// mappingFor returns the client's mapping, creating it (and its socket) on
// the first datagram.
func (r *Relay) mappingFor(client netip.AddrPort, now time.Time) (*mapping, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.clients[client]; m != nil {
		m.lastActive.Store(now.UnixNano())
		return m, nil
	}
	if r.closed {
		return nil, net.ErrClosed
	}
	if len(r.clients) >= r.cfg.MaxClients {
		return nil, errTooManyClients
	}
	m := &mapping{r: r, client: client}
	m.lastActive.Store(now.UnixNano())
	m.writeUp = func(b []byte) error {
		c := m.conn.Load()
		if c == nil {
			return net.ErrClosed
		}
		_, err := c.Write(b)
		return err
	}
	m.writeDown = func(b []byte) error {
		_, err := r.listen.WriteToUDPAddrPort(b, m.client)
		return err
	}
	if err := r.bind(m); err != nil {
		return nil, err
	}
	r.clients[client] = m
	r.log.Debug("udprelay new client", "client", client, "via", m.conn.Load().LocalAddr())
	return m, nil
}

// bind gives m a fresh upstream socket and closes the old one. r.mu is held.
func (r *Relay) bind(m *mapping) error {
	c, err := net.DialUDP("udp", nil, r.upstream)
	if err != nil {
		return fmt.Errorf("udprelay: upstream socket for %v: %w", m.client, err)
	}
	bigBuffers(c)
	enableRxStamp(c)
	if old := m.conn.Swap(c); old != nil {
		old.Close()
		r.rebinds.Add(1)
	}
	r.spawn(func() { m.readUpstream(c) })
	return nil
}

// readUpstream forwards the upstream's replies on c into the down pipe until
// c is closed.
func (m *mapping) readUpstream(c *net.UDPConn) {
	buf, oob := make([]byte, 65536), make([]byte, oobSize)
	for {
		n, oobn, _, _, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A connected UDP socket reports ICMP errors (e.g. port
			// unreachable) on read; the socket stays usable.
			m.r.readErrors.Add(1)
			continue
		}
		now := time.Now()
		m.lastActive.Store(now.UnixNano())
		m.r.down.enqueue(now, readLag(now, oob[:oobn]), buf[:n], m.writeDown)
	}
}

// close shuts the mapping's socket; its reader goroutine then returns.
func (m *mapping) close() {
	if c := m.conn.Swap(nil); c != nil {
		c.Close()
	}
}
