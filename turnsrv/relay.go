package turnsrv

import (
	"crypto/sha1" //nolint:gosec // fixed by the TURN REST scheme
	"errors"
	"hash"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// relayGen is a turn.RelayAddressGenerator whose relays can only send to
// the node's media addresses, at a bounded rate. One per listener, so the
// bytes relayed are counted per client transport.
type relayGen struct {
	s     *Server
	proto int // index into counters: protoUDP, protoTCP, protoTLS
}

// Validate accepts the generator (turn.RelayAddressGenerator).
func (g *relayGen) Validate() error { return nil }

// AllocatePacketConn opens a UDP relay on the relay IP (turn.RelayAddressGenerator).
func (g *relayGen) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	c, err := net.ListenPacket(network, net.JoinHostPort(g.s.bindIP.String(), strconv.Itoa(requestedPort)))
	if err != nil {
		return nil, nil, err
	}
	if uc, ok := c.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(1 << 20)
		_ = uc.SetWriteBuffer(1 << 20)
	}
	la := *c.LocalAddr().(*net.UDPAddr)
	la.IP = g.s.relayIP
	bps := float64(g.s.cfg.MaxBitrate) / 8
	return &guardConn{PacketConn: c, s: g.s, proto: g.proto,
		lim: rate.NewLimiter(rate.Limit(bps), int(bps/4)+64<<10)}, &la, nil
}

// AllocateConn refuses TCP relays (RFC 6062): clients reach the node's media
// over UDP relays, whatever transport they use to reach TURN.
func (g *relayGen) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errors.New("turn: TCP relays are not offered")
}

// guardConn is one relay's socket. WriteTo (relay → peer) reaches only the
// node's media addresses: the permission handler already refused other
// IPs, and this refuses other ports of the node's IPs too.
type guardConn struct {
	net.PacketConn
	s     *Server
	proto int
	lim   *rate.Limiter
}

func (c *guardConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || !c.s.allowedPeer(ua.IP, ua.Port) {
		c.s.stats.refusedPort.Add(1)
		return len(b), nil // dropped: the client may not reach it
	}
	if !c.lim.AllowN(time.Now(), len(b)) {
		c.s.stats.rateDrops.Add(1)
		return len(b), nil
	}
	c.s.stats.toPeer[c.proto].Add(uint64(len(b)))
	return c.PacketConn.WriteTo(b, addr)
}

func (c *guardConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	if n > 0 {
		c.s.stats.fromPeer[c.proto].Add(uint64(n))
	}
	return n, a, err
}

// allowedPeer: an IP (and port, when given) of the node's media sockets.
func (s *Server) allowedPeer(ip net.IP, port int) bool {
	if !slices.ContainsFunc(s.peerIPs, func(x net.IP) bool { return x.Equal(ip) }) {
		return false
	}
	return port < 0 || slices.Contains(s.media.Ports, port)
}

// stats are the server's counters.
type stats struct {
	allocations              [3]atomic.Uint64
	toPeer, fromPeer         [3]atomic.Uint64
	refusedPermission        atomic.Uint64
	refusedPort, rateDrops   atomic.Uint64
	refusedQuota, authFailed atomic.Uint64
}

const (
	protoUDP = iota
	protoTCP
	protoTLS
)

var protoNames = [3]string{"udp", "tcp", "tls"}

// sha1New is HMAC-SHA1's hash, as the TURN REST scheme fixes it.
func sha1New() hash.Hash { return sha1.New() }
