package qrtp

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
)

// initFrom builds one client endpoint at addr and returns its first Init.
func initFrom(t *testing.T, now time.Time, seed uint64, srv *Endpoint) []byte {
	t.Helper()
	rnd := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 99})
	key, _ := handshake.GenerateKeyPair(rnd)
	cli, err := NewEndpoint(now, Config{Key: key, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	pub := srv.PublicKey()
	if _, err := cli.Connect(now, fuzzSrv, &pub, ConnConfig{}); err != nil {
		t.Fatal(err)
	}
	var out []byte
	cli.Poll(now, func(_ netip.AddrPort, b []byte) { out = append([]byte(nil), b...) })
	return out
}

func addrN(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 4000)
}

// TestHandshakeRateAndPendingLimits: beyond the handshake rate or the
// pending limit, Inits without a cookie get a Retry (no Noise work, no
// state); beyond twice the limits nothing is accepted; MaxConnections is
// a hard cap.
func TestHandshakeRateAndPendingLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rnd := rand.NewChaCha8([32]byte{7})
	key, _ := handshake.GenerateKeyPair(rnd)
	srv, err := NewEndpoint(now, Config{Key: key, Rand: rnd, Accept: true,
		MaxHandshakesPerSecond: 5, MaxPendingHandshakes: 100, MaxConnections: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		srv.HandleDatagram(now, addrN(i), initFrom(t, now, uint64(i), srv))
	}
	st := srv.Stats()
	if st.Connections != 5 || st.RetriesSent != 15 {
		t.Fatalf("rate limit: %d connections, %d retries (want 5, 15)", st.Connections, st.RetriesSent)
	}
	// A second later the bucket has refilled.
	now = now.Add(time.Second)
	srv.HandleDatagram(now, addrN(100), initFrom(t, now, 100, srv))
	if srv.Stats().Connections != 6 {
		t.Fatalf("after refill: %d connections", srv.Stats().Connections)
	}

	// Pending limit: unconfirmed handshakes count against it.
	srv2, _ := NewEndpoint(now, Config{Key: key, Rand: rnd, Accept: true,
		MaxHandshakesPerSecond: 1000, MaxPendingHandshakes: 3})
	for i := 0; i < 10; i++ {
		srv2.HandleDatagram(now, addrN(i), initFrom(t, now, uint64(200+i), srv2))
	}
	if st := srv2.Stats(); st.Connections != 3 || st.RetriesSent != 7 {
		t.Fatalf("pending limit: %+v", st)
	}

	// Connection cap: even valid cookies do not pass it.
	srv3, _ := NewEndpoint(now, Config{Key: key, Rand: rnd, Accept: true, MaxConnections: 2, RequireAddressValidation: true})
	accepted := 0
	for i := 0; i < 4; i++ {
		addr := addrN(300 + i)
		rk := rand.NewChaCha8([32]byte{byte(i), 3})
		ck, _ := handshake.GenerateKeyPair(rk)
		cli, _ := NewEndpoint(now, Config{Key: ck, Rand: rk})
		pub := srv3.PublicKey()
		cli.Connect(now, fuzzSrv, &pub, ConnConfig{})
		for round := 0; round < 3; round++ {
			cli.Poll(now, func(_ netip.AddrPort, b []byte) { srv3.HandleDatagram(now, addr, b) })
			srv3.Poll(now, func(_ netip.AddrPort, b []byte) { cli.HandleDatagram(now, fuzzSrv, b) })
		}
		if srv3.Accept() != nil {
			accepted++
		}
	}
	if st := srv3.Stats(); accepted != 2 || st.HandshakeBusy == 0 || st.RetriesSent != 4 {
		t.Fatalf("connection cap: accepted %d, %+v", accepted, st)
	}
	if _, err := srv3.Connect(now, fuzzCli, &key.Public, ConnConfig{}); err != ErrConnectionLimit {
		t.Fatalf("outgoing beyond the cap: %v", err)
	}
}

func TestKeyRequestNeedsAccept(t *testing.T) {
	p := newPair(t, 20)
	_ = p
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rnd := rand.NewChaCha8([32]byte{8})
	key, _ := handshake.GenerateKeyPair(rnd)
	closed, _ := NewEndpoint(now, Config{Key: key, Rand: rnd}) // not accepting
	rnd2 := rand.NewChaCha8([32]byte{9})
	ck, _ := handshake.GenerateKeyPair(rnd2)
	cli, _ := NewEndpoint(now, Config{Key: ck, Rand: rnd2})
	cli.Connect(now, fuzzSrv, nil, ConnConfig{})
	var sent int
	cli.Poll(now, func(_ netip.AddrPort, b []byte) {
		if len(b) < 1200 {
			t.Errorf("KeyRequest of %d bytes", len(b))
		}
		closed.HandleDatagram(now, fuzzCli, b)
	})
	closed.Poll(now, func(netip.AddrPort, []byte) { sent++ })
	if sent != 0 || closed.Stats().HandshakeRejectedNotAccepting != 1 {
		t.Fatalf("a non-accepting endpoint answered (%d) %+v", sent, closed.Stats())
	}
}
