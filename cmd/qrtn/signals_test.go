package main

import (
	"context"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/signaling"
)

// heldClient joins a node over a websocket and then says nothing more: a
// client that will not move when told, so a drain can only time out.
func heldClient(t *testing.T, n *node.Node) {
	t.Helper()
	tok, err := n.MintToken(signaling.Grant{Identity: "stuck", Room: "r", Subscribe: true}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.URL(), "http")+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	if err := ws.WriteJSON(map[string]string{"type": "join", "token": tok}); err != nil {
		t.Fatal(err)
	}
	var m struct{ Type string }
	if err := ws.ReadJSON(&m); err != nil || m.Type != "joined" {
		t.Fatalf("join: %v %v", m, err)
	}
	go func() { // read (and drop) until closed, as a live browser would
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
}

func drainNode(t *testing.T, timeout time.Duration) *node.Node {
	t.Helper()
	n, err := node.New(node.Config{Dev: true, SFU: sfu.Config{UDPAddr: "127.0.0.1:0"},
		Drain: node.DrainConfig{Timeout: timeout, Interval: 50 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// TestFirstSignalDrainsWithinItsTimeout: a client that does not move keeps
// the drain waiting only until its timeout; then the node closes and
// serveUntilDone returns, without exiting the process.
func TestFirstSignalDrainsWithinItsTimeout(t *testing.T) {
	n := drainNode(t, 800*time.Millisecond)
	heldClient(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	var exited atomic.Int32
	done := make(chan error, 1)
	go func() { done <- serveUntilDone(ctx, n, sigs, func(c int) { exited.Store(int32(c)) }, io.Discard) }()
	start := time.Now()
	cancel()
	sigs <- syscall.SIGTERM // the same first signal, as main's context and this channel both get it
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(n.DrainBound()):
		t.Fatal("the drain did not end within its bound")
	}
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("the drain ended after %v, before its timeout, with a client still there", d)
	}
	if exited.Load() != 0 {
		t.Error("a single signal exited the process")
	}
	select {
	case <-n.Done():
	default:
		t.Error("the node is still open after its drain")
	}
}

// TestSecondSignalExitsAtOnce: a drain waiting for a stuck client is cut
// short by a second signal.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	n := drainNode(t, time.Minute)
	heldClient(t, n)
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	done := make(chan error, 1)
	go func() { done <- serveUntilDone(context.Background(), n, sigs, func(c int) { exited <- c }, io.Discard) }()
	sigs <- syscall.SIGTERM
	deadline := time.Now().Add(5 * time.Second)
	for !n.Draining() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !n.Draining() {
		t.Fatal("the first signal did not start a drain")
	}
	sigs <- syscall.SIGTERM
	select {
	case c := <-exited:
		if c == 0 {
			t.Errorf("exit code %d", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second signal did not exit")
	}
	if err := <-done; err != errExitedNow {
		t.Errorf("serveUntilDone returned %v", err)
	}
}
