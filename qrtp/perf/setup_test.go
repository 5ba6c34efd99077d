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
// what the server sees, and opens the control stream (nothing is sent on
// it yet).
func rawClient(t *testing.T, ctx context.Context, srv *Server) (*udp.Conn, *udp.Stream) {
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
	ctl, err := conn.OpenStream(ctx, qrtp.StreamOptions{Priority: qrtp.PriorityControl})
	if err != nil {
		t.Fatal(err)
	}
	return conn, ctl
}

// TestDataBeforeStart is the setup with the packet carrying "start" lost:
// the data stream's first bytes reach the server before the control
// stream's. The server must still take stream 0 as the control stream
// (it once took whichever stream arrived first, read bulk bytes as JSON
// and closed the connection with code 0).
func TestDataBeforeStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, ctl := rawClient(t, ctx, startServer(t))
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, ctl := rawClient(t, ctx, startServer(t))
	if err := newConduit(ctl).send(ctrlMsg{Type: "start", Mode: "telepathy", Profile: "bulk"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("the server kept a test it cannot run")
	}
	err := refusal(conn.Err())
	var ce *qrtp.CloseError
	if !errors.As(conn.Err(), &ce) || ce.Code != codeRefused {
		t.Fatalf("closed with %v, want code %#x", conn.Err(), uint64(codeRefused))
	}
	if msg := err.Error(); !strings.Contains(msg, "refused the test") || !strings.Contains(msg, `unknown mode "telepathy"`) {
		t.Fatalf("error %q does not say why", msg)
	}
}

// TestStopLateIsNoStall: at heavy loss the stop message may arrive a
// second after the client stopped sending; the silence in between is not
// a stall. The end of sending is the client's stop time on the server's
// clock plus the fastest frame's one-way latency.
func TestStopLateIsNoStall(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := &mediaReceiver{raw: []int64{int64(130 * time.Millisecond), int64(110 * time.Millisecond)}}
	offset := 10 * time.Millisecond // server clock − client clock
	stop := ctrlMsg{Type: "stop", ClockOffsetNS: int64(offset), StopT: t0.UnixNano()}
	arrived := t0.Add(1200 * time.Millisecond)
	// The fastest frame took 110 − 10 = 100 ms: the last could arrive at
	// stop + 10 ms (clocks) + 100 ms on the server's clock.
	if got, want := r.sendingEnded(stop, arrived), t0.Add(110*time.Millisecond); !got.Equal(want) {
		t.Errorf("sending ended %v after the stop, want %v", got.Sub(t0), want.Sub(t0))
	}
	last := t0.Add(50 * time.Millisecond)
	if n := countStalls([]time.Time{last}, r.sendingEnded(stop, arrived)); n != 0 {
		t.Errorf("%d stalls for a stop message that arrived late", n)
	}
	if got := r.sendingEnded(ctrlMsg{Type: "stop"}, arrived); !got.Equal(arrived) {
		t.Errorf("without the client's stop time: %v, want when stop arrived", got)
	}
}
