package perf

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/udp"
)

// rawClient dials the server without the perf client, so a test can order
// what the server sees.
func rawClient(t *testing.T, ctx context.Context, srv *Server) *udp.Conn {
	t.Helper()
	key, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	skey := srv.PublicKey()
	// The protocol's initial stream window: opening a stream then sends
	// nothing (a larger one is announced with MAX_STREAM_DATA, which would
	// tell the server of the stream before its first byte).
	cfg := qrtp.Config{Key: key, Conn: qrtp.ConnConfig{Profile: "bulk", StreamReceiveWindow: 64 << 10, MaxStreamReceiveWindow: 64 << 10}}
	conn, err := udp.Dial(ctx, srv.Addr().String(), cfg, &skey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestDataBeforeStart is the setup with the packet carrying "start" lost:
// the data stream's first bytes reach the server before the control
// stream's. The server must still take stream 0 as the control stream
// (it once took whichever stream arrived first, read bulk bytes as JSON
// and closed the connection with code 0).
func TestDataBeforeStart(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := rawClient(t, ctx, srv)
	ctl, err := conn.OpenStream(ctx, qrtp.StreamOptions{Priority: qrtp.PriorityControl})
	if err != nil {
		t.Fatal(err)
	}
	data, err := conn.OpenStream(ctx, qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const sent = 64 << 10
	if _, err := data.Write(make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	// Only once the server has acknowledged data does "start" leave.
	for data.Stats().BytesAcked == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the server acknowledged no data")
		case <-conn.Done():
			t.Fatalf("connection closed before start: %v", conn.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cd := newConduit(ctl)
	if err := cd.send(ctrlMsg{Type: "start", Mode: ModeBulk, Profile: "bulk", Interval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	m, err := cd.recv()
	if err != nil {
		t.Fatalf("no interval after start: %v (connection: %v)", err, conn.Err())
	}
	if m.Type != "interval" {
		t.Fatalf("first message %q (error %q), want an interval", m.Type, m.Error)
	}
	if err := cd.send(ctrlMsg{Type: "stop"}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := cd.recv()
		if err != nil {
			t.Fatalf("no result: %v", err)
		}
		if m.Type != "result" {
			continue
		}
		if m.Error != "" || m.Snap == nil || m.Snap.RecvBytes < sent {
			t.Fatalf("result: error %q, snapshot %+v; want the %d bytes sent before start counted", m.Error, m.Snap, sent)
		}
		return
	}
}

// TestRefusedSetupIsReadable: a test the server cannot set up ends with
// the reason in the connection close, which the client turns into a
// sentence, not "connection closed by remote: code 0x0".
func TestRefusedSetupIsReadable(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := rawClient(t, ctx, srv)
	ctl, err := conn.OpenStream(ctx, qrtp.StreamOptions{Priority: qrtp.PriorityControl})
	if err != nil {
		t.Fatal(err)
	}
	if err := newConduit(ctl).send(ctrlMsg{Type: "start", Mode: "telepathy", Profile: "bulk"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("the server kept a test it cannot run")
	}
	err = refusal(conn.Err())
	var ce *qrtp.CloseError
	if !errors.As(conn.Err(), &ce) || ce.Code != codeRefused {
		t.Fatalf("closed with %v, want code %#x", conn.Err(), uint64(codeRefused))
	}
	if msg := err.Error(); !strings.Contains(msg, "refused the test") || !strings.Contains(msg, `unknown mode "telepathy"`) {
		t.Fatalf("error %q does not say why", msg)
	}
}
