package sfu

import (
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestQueuedConnNeverBlocksTheWriter: a peer that reads nothing (net.Pipe
// blocks every write until read) does not block Write; a full queue drops
// whole frames, so the reader, once it reads, sees intact frames in order.
func TestQueuedConnNeverBlocksTheWriter(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	var drops atomic.Uint64
	qc := newQueuedConn(a, 8, &drops)
	defer qc.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			f := make([]byte, 2+100)
			binary.BigEndian.PutUint16(f, 100)
			f[2] = byte(i)
			if n, err := qc.Write(f); n != len(f) || err != nil {
				t.Errorf("write %d: %d, %v", i, n, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writes blocked on a peer that reads nothing")
	}
	if drops.Load() == 0 {
		t.Fatal("no frame dropped though the peer read nothing")
	}
	// The peer reads: whole frames, in order.
	last := -1
	for range 100 - int(drops.Load()) {
		hdr := make([]byte, 2)
		_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(b, hdr); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, binary.BigEndian.Uint16(hdr))
		if _, err := io.ReadFull(b, body); err != nil {
			t.Fatal(err)
		}
		if len(body) != 100 || int(body[0]) <= last {
			t.Fatalf("frame %d after %d, %d bytes", body[0], last, len(body))
		}
		last = int(body[0])
	}
}

// TestQueuedConnClose: Close stops the writer goroutine even while it is
// blocked on the peer, and later writes fail.
func TestQueuedConnClose(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	var drops atomic.Uint64
	qc := newQueuedConn(a, 4, &drops)
	_, _ = qc.Write([]byte{0, 1, 2})
	closed := make(chan struct{})
	go func() {
		_ = qc.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while the writer was blocked")
	}
	if _, err := qc.Write([]byte{0, 1, 2}); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// TestMediaOverICETCP: a subscriber on ICE-TCP only receives video and
// audio through the node's queued TCP connections.
func TestMediaOverICETCP(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.TCPAddr = "127.0.0.1:0" })
	defer s.Close()
	join(t, s, "tcp", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true})
	bob := join(t, s, "tcp", "bob", sfutest.Options{Subscribe: true, TCP: true})
	bob.waitRecv("video and audio over ICE-TCP", func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackOf(st, "video")
		a, oka := trackOf(st, "audio")
		return okv && oka && v.Packets > 60 && a.Packets > 20
	})
}
