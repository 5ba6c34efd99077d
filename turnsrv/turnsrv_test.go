package turnsrv

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v4"
)

const testSecret = "a-long-enough-api-secret"

// media is a UDP socket standing for the SFU: it echoes what it gets.
func media(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo(buf[:n], from)
		}
	}()
	return c
}

func startServer(t *testing.T, cfg Config, m *net.UDPConn) *Server {
	t.Helper()
	cfg.Enabled = true
	cfg.UDPAddr, cfg.TCPAddr, cfg.TLSAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	s, err := New(cfg, testSecret, Media{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Ports: []int{m.LocalAddr().(*net.UDPAddr).Port}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// client connects a pion TURN client to the server over a transport.
func client(t *testing.T, s *Server, transport, user, pass string) *turn.Client {
	t.Helper()
	addr := s.Addrs()[transport].String()
	var conn net.PacketConn
	switch transport {
	case "udp":
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	case "tls":
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test server's self-signed certificate
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	}
	cl, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, Realm: "qrtn", RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.Close()
		_ = conn.Close()
	})
	return cl
}

// echo sends through a relay and waits for the media socket's echo; UDP
// may lose a datagram on a loaded machine, so it tries a few times.
func echo(t *testing.T, relay net.PacketConn, to net.Addr) bool {
	t.Helper()
	buf := make([]byte, 100)
	for range 5 {
		if _, err := relay.WriteTo([]byte("ping"), to); err != nil {
			return false
		}
		_ = relay.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
		n, from, err := relay.ReadFrom(buf)
		if err == nil && string(buf[:n]) == "ping" && from.String() == to.String() {
			return true
		}
	}
	return false
}

// TestRelayOverEveryTransport: a client with the session's credentials
// gets a relay over UDP, TCP and TLS and reaches the node's media socket.
func TestRelayOverEveryTransport(t *testing.T) {
	m := media(t)
	s := startServer(t, Config{}, m)
	for _, tr := range []string{"udp", "tcp", "tls"} {
		u, p := s.Credentials("room/alice/"+tr, time.Now())
		relay, err := client(t, s, tr, u, p).Allocate()
		if err != nil {
			t.Fatalf("%s: allocate: %v", tr, err)
		}
		if !echo(t, relay, m.LocalAddr()) {
			t.Fatalf("%s: no echo from the media socket through the relay", tr)
		}
		st := s.Stats()
		if st.AllocationsTotal[tr] != 1 || st.ToPeerBytes[tr] == 0 || st.FromPeerBytes[tr] == 0 {
			t.Fatalf("%s: stats %+v", tr, st)
		}
	}
	ice := s.ICEServers("room/bob", time.Now())
	if len(ice) != 1 || len(ice[0].URLs) != 2 || ice[0].Username == "" {
		t.Fatalf("ICE servers handed out: %+v", ice)
	}
}

// TestNeverAnOpenRelay: a relay reaches only the node's media address and
// port. A permission for another host is refused (no packet is ever sent
// there); packets to another port of the node's own IP are dropped.
func TestNeverAnOpenRelay(t *testing.T) {
	m := media(t)
	other := media(t) // listening on the node's IP, but not a media socket
	s := startServer(t, Config{}, m)
	u, p := s.Credentials("room/mallory", time.Now())
	cl := client(t, s, "udp", u, p)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	outside := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 9} // TEST-NET-1
	if err := cl.CreatePermission(outside); err == nil {
		t.Fatal("a permission to a host outside the node was granted")
	}
	if _, err := relay.WriteTo([]byte("x"), outside); err == nil {
		t.Fatal("a relay write to a host outside the node succeeded")
	}
	if s.Stats().RefusedPermission == 0 {
		t.Fatal("refused permission not counted")
	}
	if echo(t, relay, other.LocalAddr()) {
		t.Fatal("the relay reached another port of the node")
	}
	if s.Stats().RefusedPort == 0 {
		t.Fatal("a packet to another port was not refused")
	}
	if !echo(t, relay, m.LocalAddr()) {
		t.Fatal("the media socket is not reachable")
	}
}

// TestCredentialsAndQuotas: wrong, forged and expired credentials are
// refused; a session gets at most its quota of relays.
func TestCredentialsAndQuotas(t *testing.T) {
	m := media(t)
	s := startServer(t, Config{MaxAllocationsPerSession: 2, CredentialTTL: time.Hour}, m)
	u, p := s.Credentials("room/alice", time.Now())
	if _, err := client(t, s, "udp", u, "wrong").Allocate(); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	forged, fp := (&Server{cfg: s.cfg, secret: DeriveSecret("another-api-secret-xx")}).Credentials("room/eve", time.Now())
	if _, err := client(t, s, "udp", forged, fp).Allocate(); err == nil {
		t.Fatal("credentials of another secret were accepted")
	}
	eu, ep := s.Credentials("room/late", time.Now().Add(-2*time.Hour))
	if _, err := client(t, s, "udp", eu, ep).Allocate(); err == nil {
		t.Fatal("expired credentials were accepted")
	}
	if s.Stats().AuthFailures < 3 {
		t.Fatalf("auth failures %d", s.Stats().AuthFailures)
	}
	for i := range 2 {
		if _, err := client(t, s, "udp", u, p).Allocate(); err != nil {
			t.Fatalf("allocation %d within the quota: %v", i, err)
		}
	}
	if _, err := client(t, s, "udp", u, p).Allocate(); err == nil {
		t.Fatal("a third allocation for a session with a quota of 2")
	}
	if st := s.Stats(); st.RefusedQuota == 0 || st.Allocations != 2 {
		t.Fatalf("stats %+v", st)
	}
	u2, p2 := s.Credentials("room/bob", time.Now())
	if _, err := client(t, s, "udp", u2, p2).Allocate(); err != nil {
		t.Fatalf("another session: %v", err)
	}
}
