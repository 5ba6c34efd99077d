package udp

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
)

func startRelay(t *testing.T, upstream string, link netsim.LinkConfig) *udprelay.Relay {
	t.Helper()
	r, err := udprelay.New(context.Background(), udprelay.Config{
		Listen: "127.0.0.1:0", Upstream: upstream, Up: link, Down: link, Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRebindMidTransfer moves the client to a new source port (a NAT
// rebinding, done by the relay) in the middle of a transfer: the server
// finds the connection by its ID, validates the new path and the
// transfer completes intact.
func TestRebindMidTransfer(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	relay := startRelay(t, srv.Addr().String(), netsim.LinkConfig{Delay: 2 * time.Millisecond})
	key := srv.PublicKey()
	cli, err := Dial(ctx, relay.Addr().String(), qrtp.Config{Key: newKey(t)}, &key)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	data := payload(6<<20, 5)
	s, err := cli.OpenStream(ctx, qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		s.Write(data)
		s.Close()
	}()
	sc, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := sc.RemoteAddr()
	ss, err := sc.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Read a third, rebind, read the rest.
	head := make([]byte, len(data)/3)
	if _, err := readFull(ss, head); err != nil {
		t.Fatal(err)
	}
	if err := relay.Rebind(); err != nil {
		t.Fatal(err)
	}
	rest := readAll(t, ss)
	if got := append(head, rest...); !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d identical", len(got), len(data))
	}
	if after := sc.RemoteAddr(); after == before {
		t.Errorf("server still sends to %v after the rebind", after)
	}
	if m := sc.Stats().Migrations; m == 0 {
		t.Error("server counted no migration")
	}
}

// TestLossyRelay transfers through delay and loss: recovery works over
// real sockets and real time.
func TestLossyRelay(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	go serveEcho(ctx, srv)
	relay := startRelay(t, srv.Addr().String(), netsim.LinkConfig{
		Delay: 5 * time.Millisecond, Loss: netsim.Bernoulli(0.05),
	})
	key := srv.PublicKey()
	cli, err := Dial(ctx, relay.Addr().String(), qrtp.Config{Key: newKey(t)}, &key)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	roundTrip(t, ctx, cli, payload(1<<20, 11))
	if st := cli.Stats(); st.PacketsLost == 0 {
		t.Errorf("no loss detected through a 5%% lossy relay: %+v", st)
	}
}

func readFull(s *Stream, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := s.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
