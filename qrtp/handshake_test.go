package qrtp_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestZeroRTTDataInFirstDatagram: an initiator that knows the responder's
// key gets application data (a stream's bytes and a message) to the
// responder's application with its first datagram, and the handshake
// completes after one round trip.
func TestZeroRTTDataInFirstDatagram(t *testing.T) {
	sim := newSim(t, 3)
	link(sim, netsim.LinkConfig{Delay: 40 * time.Millisecond})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)

	datagramsAtServer := 0
	srv.filter = func(time.Time, netip.AddrPort, []byte) bool { datagramsAtServer++; return true }
	var gotBytes, gotMsg []byte
	atDatagram := map[string]int{}
	var sconn *qrtp.Conn
	srv.app = func(now time.Time) {
		if sconn == nil {
			sconn = srv.ep.Accept()
		}
		if sconn == nil {
			return
		}
		for s := sconn.AcceptStream(); s != nil; s = sconn.AcceptStream() {
			switch s.Mode() {
			case qrtp.ModeReliable:
				buf := make([]byte, 100)
				n, _ := s.Read(buf)
				gotBytes = buf[:n]
				atDatagram["bytes"] = datagramsAtServer
			case qrtp.ModeMessage:
				if m, ok := s.ReadMessage(); ok {
					gotMsg = m.Data
					atDatagram["message"] = datagramsAtServer
				}
			}
		}
	}

	key := srv.key.Public
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{Profile: "meeting"})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := conn.OpenStream(qrtp.StreamOptions{})
	if _, err := rel.Write([]byte("hello in 0-RTT")); err != nil {
		t.Fatal(err)
	}
	msg, _ := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage})
	if _, err := msg.SendMessage(sim.Now(), []byte("a message too"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	_ = sim.Wake(clientAddr)
	start := sim.Now()
	var connectedAt time.Duration
	sim.RunWhile(func() bool {
		for _, ev := range drainEvents(conn) {
			if ev.Kind == qrtp.EventConnected {
				connectedAt = sim.Now().Sub(start)
			}
		}
		return connectedAt == 0 || sconn == nil || !sconn.Established()
	}, start.Add(2*time.Second))

	if string(gotBytes) != "hello in 0-RTT" || string(gotMsg) != "a message too" {
		t.Fatalf("0-RTT data: bytes %q message %q", gotBytes, gotMsg)
	}
	if atDatagram["bytes"] != 1 || atDatagram["message"] != 1 {
		t.Fatalf("data arrived with datagram %v, want 1", atDatagram)
	}
	if connectedAt != 80*time.Millisecond {
		t.Errorf("initiator connected after %v, want one RTT (80ms)", connectedAt)
	}
	if conn.HandshakeKind() != "0rtt" || sconn.HandshakeKind() != "0rtt" {
		t.Errorf("kinds %q / %q", conn.HandshakeKind(), sconn.HandshakeKind())
	}
	if sconn.RemoteKey() != cli.key.Public {
		t.Error("responder did not learn the initiator's key")
	}
}

// TestReplayedFirstFlightRejected replays a captured Init: while the
// connection lives it is recognised as a duplicate, after it is gone the
// timestamp table rejects it; neither creates a connection.
func TestReplayedFirstFlightRejected(t *testing.T) {
	sim := newSim(t, 4)
	link(sim, netsim.LinkConfig{Delay: 5 * time.Millisecond})
	attacker := netip.MustParseAddrPort("10.9.9.9:666")
	sim.SetPath(attacker, serverAddr, netsim.LinkConfig{Delay: 5 * time.Millisecond}, netsim.LinkConfig{Delay: 5 * time.Millisecond})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	cli.record = true
	accepted := 0
	var conns []*qrtp.Conn
	srv.app = func(time.Time) {
		for c := srv.ep.Accept(); c != nil; c = srv.ep.Accept() {
			accepted++
			conns = append(conns, c)
		}
		for _, c := range conns {
			if c.Established() {
				c.Close(qrtp.CodeNoError, "done")
			}
		}
	}
	key := srv.key.Public
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := conn.OpenStream(qrtp.StreamOptions{})
	s.Write([]byte("pay me once"))
	_ = sim.Wake(clientAddr)
	sim.RunFor(200 * time.Millisecond)
	if accepted != 1 || len(cli.sent) == 0 {
		t.Fatalf("accepted %d, client sent %d", accepted, len(cli.sent))
	}
	first := cli.sent[0]

	// Replay while the server still remembers the connection's ID.
	sim.Send(attacker, serverAddr, first)
	sim.RunFor(50 * time.Millisecond)
	// Replay after every connection is gone (closed and reaped).
	sim.RunFor(2 * time.Second)
	if n := srv.ep.Stats().Connections; n != 0 {
		t.Fatalf("%d connections still open", n)
	}
	sim.Send(attacker, serverAddr, first)
	sim.Send(clientAddr, serverAddr, first)
	sim.RunFor(50 * time.Millisecond)

	st := srv.ep.Stats()
	if accepted != 1 {
		t.Errorf("replays created %d extra connections", accepted-1)
	}
	if st.DuplicateInits != 1 || st.HandshakeReplay != 2 {
		t.Errorf("duplicates %d (want 1), replays %d (want 2)", st.DuplicateInits, st.HandshakeReplay)
	}
	if st.HandshakesOK != 1 {
		t.Errorf("handshakes ok %d", st.HandshakesOK)
	}
}

// pollOut polls p at now and returns what it sent.
func pollOut(p *qrtp.Endpoint, now time.Time) [][]byte {
	var out [][]byte
	p.Poll(now, func(_ netip.AddrPort, b []byte) { out = append(out, append([]byte(nil), b...)) })
	return out
}

func newDirect(t *testing.T, seed uint64, now time.Time, mutate func(*qrtp.Config)) *peer {
	t.Helper()
	return newPeer(t, netsim.New(netsim.Config{}), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(seed)}), 1000), seed, func(c *qrtp.Config) {
		if mutate != nil {
			mutate(c)
		}
	})
}

// TestHandshakeRejections: wrong responder key, a tampered Init, an
// expired timestamp and an unauthorized initiator are counted and create
// no connection. Only the expired Init, which authenticated, is answered:
// with a stateless Retry smaller than the Init, so that a live initiator
// rebuilds it with a fresh timestamp (restart_test.go).
func TestHandshakeRejections(t *testing.T) {
	now := netsim.Epoch()
	cases := []struct {
		name   string
		mutate func(*qrtp.Config)
		key    func(srv *peer) handshake.PublicKey
		tamper func([]byte)
		at     time.Time
		check  func(qrtp.EndpointStats) uint64
		retry  bool
	}{
		{name: "wrong key", key: func(*peer) handshake.PublicKey { return handshake.PublicKey{9, 9, 9} },
			check: func(s qrtp.EndpointStats) uint64 { return s.HandshakeDecrypt }},
		{name: "tampered", tamper: func(b []byte) { b[len(b)-30] ^= 1 },
			check: func(s qrtp.EndpointStats) uint64 { return s.HandshakeDecrypt }},
		{name: "tampered header", tamper: func(b []byte) { b[10] ^= 1 }, // source CID is in the prologue
			check: func(s qrtp.EndpointStats) uint64 { return s.HandshakeDecrypt }},
		{name: "expired", at: now.Add(-5 * time.Minute), retry: true,
			check: func(s qrtp.EndpointStats) uint64 { return s.HandshakeExpired }},
		{name: "unauthorized", mutate: func(c *qrtp.Config) { c.Authorize = func(handshake.PublicKey) bool { return false } },
			check: func(s qrtp.EndpointStats) uint64 { return s.HandshakeUnauthorized }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newDirect(t, 2, now, tc.mutate)
			cli := newDirect(t, 1, now, nil)
			key := srv.key.Public
			if tc.key != nil {
				key = tc.key(srv)
			}
			at := now
			if !tc.at.IsZero() {
				at = tc.at
			}
			if _, err := cli.ep.Connect(at, srv.addr, &key, qrtp.ConnConfig{}); err != nil {
				t.Fatal(err)
			}
			out := pollOut(cli.ep, at)
			if len(out) != 1 {
				t.Fatalf("client sent %d datagrams", len(out))
			}
			if tc.tamper != nil {
				tc.tamper(out[0])
			}
			srv.ep.HandleDatagram(now, cli.addr, out[0])
			if got := tc.check(srv.ep.Stats()); got != 1 {
				t.Errorf("counter = %d, want 1 (%+v)", got, srv.ep.Stats())
			}
			if c := srv.ep.Accept(); c != nil || srv.ep.Stats().Connections != 0 {
				t.Error("a connection was created")
			}
			reply := pollOut(srv.ep, now)
			switch {
			case !tc.retry && len(reply) != 0:
				t.Errorf("server answered with %d datagrams", len(reply))
			case tc.retry && (len(reply) != 1 || len(reply[0]) >= len(out[0]) || srv.ep.Stats().StaleInitRetries != 1):
				t.Errorf("server answered with %d datagrams, want one Retry smaller than the %d-byte Init (%+v)", len(reply), len(out[0]), srv.ep.Stats())
			}
		})
	}
}

// TestRetryAndAmplification: with address validation required, the first
// Init gets a stateless Retry (smaller than the Init), the second carries
// the cookie and completes; a responder never sends more to an unvalidated
// address than it received from it.
func TestRetryAndAmplification(t *testing.T) {
	now := netsim.Epoch()
	srv := newDirect(t, 2, now, func(c *qrtp.Config) { c.RequireAddressValidation = true })
	cli := newDirect(t, 1, now, nil)
	key := srv.key.Public
	conn, _ := cli.ep.Connect(now, srv.addr, &key, qrtp.ConnConfig{})
	s, _ := conn.OpenStream(qrtp.StreamOptions{})
	s.Write([]byte("early data"))

	init1 := pollOut(cli.ep, now)
	srv.ep.HandleDatagram(now, cli.addr, init1[0])
	retry := pollOut(srv.ep, now)
	if len(retry) != 1 || len(retry[0]) >= len(init1[0]) || srv.ep.Stats().RetriesSent != 1 || srv.ep.Stats().Connections != 0 {
		t.Fatalf("retry: %d datagrams, stats %+v", len(retry), srv.ep.Stats())
	}
	cli.ep.HandleDatagram(now, srv.addr, retry[0])
	init2 := pollOut(cli.ep, now)
	if len(init2) != 1 || bytes.Equal(init2[0], init1[0]) {
		t.Fatal("no fresh Init after Retry")
	}
	srv.ep.HandleDatagram(now, cli.addr, init2[0])
	sconn := srv.ep.Accept()
	if sconn == nil {
		t.Fatalf("cookie Init not accepted: %+v", srv.ep.Stats())
	}
	resp := pollOut(srv.ep, now)
	cli.ep.HandleDatagram(now, srv.addr, resp[0])
	if !conn.Established() || !conn.Stats().Retried {
		t.Fatal("initiator not established after Retry")
	}

	// Without validation: a spoofed Init may not be amplified.
	srv2 := newDirect(t, 3, now, nil)
	cli2 := newDirect(t, 4, now, nil)
	key2 := srv2.key.Public
	conn2, _ := cli2.ep.Connect(now, srv2.addr, &key2, qrtp.ConnConfig{})
	big, _ := conn2.OpenStream(qrtp.StreamOptions{})
	big.Write(make([]byte, 4000)) // more than one datagram of 0-RTT
	in := pollOut(cli2.ep, now)
	srv2.ep.HandleDatagram(now, cli2.addr, in[0])
	sc := srv2.ep.Accept()
	reply, _ := sc.OpenStream(qrtp.StreamOptions{})
	reply.Write(make([]byte, 100000)) // the server wants to send a lot of 0.5-RTT data
	sent := 0
	for i := 0; i < 5; i++ {
		for _, b := range pollOut(srv2.ep, now.Add(time.Duration(i)*time.Second)) {
			sent += len(b)
		}
	}
	if sent > len(in[0]) || sent == 0 {
		t.Fatalf("sent %d bytes to an unvalidated address that sent %d", sent, len(in[0]))
	}
}

// TestKeyRequestLearnsKey: without the responder's key the initiator asks
// for it first and reports the handshake kind.
func TestKeyRequestLearnsKey(t *testing.T) {
	sim := newSim(t, 5)
	link(sim, netsim.LinkConfig{Delay: 10 * time.Millisecond})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, nil, qrtp.ConnConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_ = sim.Wake(clientAddr)
	start := sim.Now()
	sim.RunWhile(func() bool { return !conn.Established() }, start.Add(time.Second))
	if !conn.Established() {
		t.Fatal("not established")
	}
	if d := sim.Now().Sub(start); d != 40*time.Millisecond {
		t.Errorf("established after %v, want two RTTs (40ms)", d)
	}
	if conn.HandshakeKind() != "1rtt-learned-key" || conn.RemoteKey() != srv.key.Public {
		t.Errorf("kind %q, key learned %v", conn.HandshakeKind(), conn.RemoteKey() == srv.key.Public)
	}
	if srv.ep.Stats().KeyRequests != 1 {
		t.Errorf("key requests %d", srv.ep.Stats().KeyRequests)
	}
}

// TestInitResentInCopies: an unanswered Init is re-sent as two, then
// three identical copies (a lossy path needs the Init and its answer both
// through), and the responder takes the copies as one handshake.
func TestInitResentInCopies(t *testing.T) {
	now := netsim.Epoch()
	srv := newDirect(t, 2, now, nil)
	cli := newDirect(t, 1, now, nil)
	key := srv.key.Public
	if _, err := cli.ep.Connect(now, srv.addr, &key, qrtp.ConnConfig{}); err != nil {
		t.Fatal(err)
	}
	var sends [][][]byte
	at := now
	for range 4 {
		out := pollOut(cli.ep, at)
		sends = append(sends, out)
		at = cli.ep.NextTimeout()
	}
	for i, want := range []int{1, 2, 3, 3} {
		if len(sends[i]) != want {
			t.Fatalf("try %d sent %d datagrams, want %d", i+1, len(sends[i]), want)
		}
		for _, b := range sends[i] {
			if !bytes.Equal(b, sends[0][0]) {
				t.Fatalf("try %d: a copy differs from the first Init", i+1)
			}
		}
	}
	for _, b := range sends[2] {
		srv.ep.HandleDatagram(at, cli.addr, b)
	}
	if n := len(pollOut(srv.ep, at)); n == 0 {
		t.Fatal("no InitResponse")
	}
	if st := srv.ep.Stats(); st.Connections != 1 || st.DuplicateInits != 2 {
		t.Fatalf("responder: %d connections, %d duplicate Inits; want 1 and 2", st.Connections, st.DuplicateInits)
	}
}
