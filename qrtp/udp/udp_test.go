package udp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// TestLoopback runs every delivery mode between two processes' worth of
// transports over real loopback UDP: a 0-RTT handshake, a reliable
// transfer checked byte for byte, messages with their outcomes,
// datagrams, and a graceful close the peer sees.
func TestLoopback(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	key := srv.PublicKey()
	cli, err := DialEarly(ctx, srv.Addr().String(), qrtp.Config{Key: newKey(t)}, &key)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	data := payload(4<<20, 1)
	rel, err := cli.OpenStream(ctx, qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() {
		_, err := rel.Write(data)
		if err == nil {
			err = rel.Close()
		}
		writeErr <- err
	}()

	sc, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := sc.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ss); !bytes.Equal(got, data) {
		t.Fatalf("reliable stream: got %d bytes, want %d identical", len(got), len(data))
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if err := cli.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if k := cli.HandshakeKind(); k != "0rtt" {
		t.Errorf("client handshake kind %q, want 0rtt", k)
	}

	t.Run("messages", func(t *testing.T) { testMessages(t, ctx, cli, sc) })
	t.Run("datagrams", func(t *testing.T) { testDatagrams(t, ctx, cli, sc) })

	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sc.Done():
	case <-ctx.Done():
		t.Fatal("server never saw the client close")
	}
	var ce *qrtp.CloseError
	if err := sc.Err(); !errors.As(err, &ce) || !ce.Remote || ce.Code != qrtp.CodeNoError {
		t.Fatalf("server's connection ended with %v, want the peer's CONNECTION_CLOSE", err)
	}
	if _, err := ss.Read(make([]byte, 1)); err == nil {
		t.Fatal("read on a closed connection succeeded")
	}
}

func testMessages(t *testing.T, ctx context.Context, cli, sc *Conn) {
	ms, err := cli.OpenStream(ctx, qrtp.StreamOptions{Mode: qrtp.ModeMessage, Deadline: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		msg := payload(3000+i*100, uint64(i)) // several datagrams each
		if _, err := ms.SendMessage(msg, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := sc.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Mode() != qrtp.ModeMessage {
		t.Fatalf("accepted a %v stream, want message", rs.Mode())
	}
	for range n {
		m, err := rs.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := payload(3000+int(m.Seq)*100, m.Seq); !bytes.Equal(m.Data, want) {
			t.Fatalf("message %d corrupted", m.Seq)
		}
	}
	// Every message is reported delivered to the sender.
	var outs []MessageOutcome
	for deadline := time.Now().Add(5 * time.Second); len(outs) < n && time.Now().Before(deadline); {
		outs, _ = ms.MessageOutcomes(outs)
		time.Sleep(5 * time.Millisecond)
	}
	if len(outs) != n {
		t.Fatalf("%d outcomes, want %d", len(outs), n)
	}
	for _, o := range outs {
		if o.Expired {
			t.Fatalf("message %d expired on a clean loopback", o.Seq)
		}
	}
	// Closing the sending half ends the reader's stream, though the
	// reader's own half is still open.
	if err := ms.Close(); err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := rs.ReceiveMessage(ectx); err != io.EOF {
		t.Fatalf("ReceiveMessage after the peer closed: %v, want io.EOF", err)
	}
}

func testDatagrams(t *testing.T, ctx context.Context, cli, sc *Conn) {
	ds, err := cli.OpenStream(ctx, qrtp.StreamOptions{Mode: qrtp.ModeDatagram})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := ds.SendDatagram([]byte(fmt.Sprintf("datagram %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := sc.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Loopback may drop nothing here, but datagrams promise nothing: ask
	// for the first and check what arrives is what was sent.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got := 0
	for {
		b, err := rs.ReceiveDatagram(rctx)
		if err != nil {
			break
		}
		if !strings.HasPrefix(string(b), "datagram ") {
			t.Fatalf("datagram %q was not sent", b)
		}
		if got++; got == 20 {
			break
		}
	}
	if got == 0 {
		t.Fatal("no datagram arrived")
	}
}

// TestLearnedKey dials without the server's key: one more round trip, and
// the connection says so.
func TestLearnedKey(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	go serveEcho(ctx, srv)
	cli, err := Dial(ctx, srv.Addr().String(), qrtp.Config{Key: newKey(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if k := cli.HandshakeKind(); k != "1rtt-learned-key" {
		t.Errorf("handshake kind %q, want 1rtt-learned-key", k)
	}
	if cli.RemoteKey() != srv.PublicKey() {
		t.Error("learned a key that is not the server's")
	}
	roundTrip(t, ctx, cli, payload(100_000, 3))
}

// roundTrip sends data on a new stream to an echo server and checks it
// comes back whole.
func roundTrip(t testing.TB, ctx context.Context, c *Conn, data []byte) {
	t.Helper()
	s, err := c.OpenStream(ctx, qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		if err == nil {
			err = s.Close()
		}
		errc <- err
	}()
	got := readAll(t, s)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo: got %d bytes, want %d identical", len(got), len(data))
	}
}

// TestManyConnections serves many clients from one listening socket.
func TestManyConnections(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	go serveEcho(ctx, srv)
	// Half the clients share one transport (one socket, many connections
	// out), the others have a socket each.
	shared := startServer(t, nil)
	key := srv.PublicKey()
	const clients = 16
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *Conn
			var err error
			if i%2 == 0 {
				c, err = shared.Dial(ctx, srv.Addr().String(), &key, qrtp.ConnConfig{})
			} else {
				c, err = Dial(ctx, srv.Addr().String(), qrtp.Config{Key: newKey(t)}, &key)
			}
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			roundTrip(t, ctx, c, payload(200_000, uint64(i)))
		}()
	}
	wg.Wait()
	if n := srv.Stats().Endpoint.HandshakesOK; n != clients {
		t.Errorf("server completed %d handshakes, want %d; stats %+v", n, clients, srv.Stats().Endpoint)
	}
}

// TestWrongKey dials with a key the server does not hold: the server
// cannot read the Init and stays silent, and Dial fails with an error
// that says what to check.
func TestWrongKey(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	wrong := newKey(t).Public
	start := time.Now()
	_, err := Dial(ctx, srv.Addr().String(), qrtp.Config{Key: newKey(t), HandshakeTimeout: 500 * time.Millisecond}, &wrong)
	if err == nil {
		t.Fatal("dial with a wrong key succeeded")
	}
	if !errors.Is(err, qrtp.ErrHandshakeTimeout) || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("error %q: want a handshake timeout naming the key", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("dial took %v", d)
	}
	if n := srv.Stats().Endpoint.HandshakeDecrypt; n == 0 {
		t.Error("server counted no failed handshake")
	}
	if n := srv.Stats().Endpoint.Connections; n != 0 {
		t.Errorf("server holds %d connections", n)
	}
}

// TestNoServer dials a port nobody serves.
func TestNoServer(t *testing.T) {
	ctx := testCtx(t)
	idle := startServer(t, nil) // a bound port, then closed: nobody answers
	addr := idle.Addr().String()
	idle.Close()
	_, err := Dial(ctx, addr, qrtp.Config{Key: newKey(t), HandshakeTimeout: 300 * time.Millisecond}, nil)
	if err == nil || !strings.Contains(err.Error(), "is a QRTP server running there") {
		t.Fatalf("dial to nowhere: %v", err)
	}
}

// TestReadDeadline: Read honours its deadline and stays usable after it.
func TestReadDeadline(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t, nil)
	key := srv.PublicKey()
	cli, err := Dial(ctx, srv.Addr().String(), qrtp.Config{Key: newKey(t)}, &key)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	s, err := cli.OpenStream(ctx, qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
		t.Fatalf("read past deadline: %v", err)
	}
	s.SetReadDeadline(time.Time{})
	if _, err := s.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	sc, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := sc.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := ss.Read(buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// TestGoroutinesStop: Close and context cancellation stop every goroutine
// the transports started, also with connections and streams in use.
func TestGoroutinesStop(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Listen(ctx, "127.0.0.1:0", qrtp.Config{Key: newKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	go serveEcho(ctx, srv)
	key := srv.PublicKey()
	cli, err := Dial(context.Background(), srv.Addr().String(), qrtp.Config{Key: newKey(t)}, &key)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, context.Background(), cli, payload(50_000, 9))
	// A reader left blocked must be released by Close.
	s, err := cli.OpenStream(context.Background(), qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); blocked <- err }()
	cli.Close()
	if err := <-blocked; !errors.Is(err, qrtp.ErrClosed) {
		t.Errorf("blocked read ended with %v, want ErrClosed", err)
	}
	cancel() // stops the server through its context
	<-srv.Done()
	checkGoroutines(t, base)
}
