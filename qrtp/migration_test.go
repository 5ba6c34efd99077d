package qrtp_test

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// sink reads a reliable stream to its end.
type sink struct {
	s   *qrtp.Stream
	got bytes.Buffer
	eof bool
	buf []byte
}

func (k *sink) drain() {
	if k.s == nil || k.eof {
		return
	}
	if k.buf == nil {
		k.buf = make([]byte, 64<<10)
	}
	for {
		n, err := k.s.Read(k.buf)
		k.got.Write(k.buf[:n])
		if err == io.EOF {
			k.eof = true
			return
		}
		if n == 0 || err != nil {
			return
		}
	}
}

// source writes data to a reliable stream as buffer space allows, then closes it.
type source struct {
	s       *qrtp.Stream
	data    []byte
	written int
}

func (w *source) fill() {
	if w.s == nil || w.written == len(w.data) {
		return
	}
	n, _ := w.s.Write(w.data[w.written:])
	w.written += n
	if w.written == len(w.data) {
		w.s.Close()
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// TestNATRebinding moves the client to a new address in the middle of a
// transfer in both directions: the server follows it by connection ID,
// validates the new address and both transfers complete intact.
func TestNATRebinding(t *testing.T) {
	sim := newSim(t, 6)
	link(sim, netsim.LinkConfig{Rate: 20e6, Delay: 10 * time.Millisecond, QueueBytes: 100_000})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	newAddr := netip.MustParseAddrPort("10.0.0.1:40001")

	up := &source{data: pattern(2<<20, 1)}
	down := &source{data: pattern(2<<20, 2)}
	var upSink, downSink sink
	key := srv.key.Public
	conn, _ := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
	up.s, _ = conn.OpenStream(qrtp.StreamOptions{})
	downSink.s = up.s
	cli.app = func(time.Time) { up.fill(); downSink.drain() }
	var sconn *qrtp.Conn
	srv.app = func(time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		if upSink.s == nil {
			if upSink.s = sconn.AcceptStream(); upSink.s != nil {
				down.s = upSink.s
			}
		}
		upSink.drain()
		down.fill()
	}
	_ = sim.Wake(clientAddr)
	sim.RunFor(300 * time.Millisecond)
	if upSink.got.Len() == 0 || downSink.got.Len() == 0 || upSink.eof || downSink.eof {
		t.Fatalf("before rebinding: up %d down %d bytes", upSink.got.Len(), downSink.got.Len())
	}
	if err := sim.Rebind(clientAddr, newAddr); err != nil {
		t.Fatal(err)
	}
	sim.RunWhile(func() bool { return !upSink.eof || !downSink.eof }, sim.Now().Add(20*time.Second))
	if !bytes.Equal(upSink.got.Bytes(), up.data) || !bytes.Equal(downSink.got.Bytes(), down.data) {
		t.Fatalf("transfers after rebinding: up %d/%d down %d/%d", upSink.got.Len(), len(up.data), downSink.got.Len(), len(down.data))
	}
	if sconn.RemoteAddr() != newAddr {
		t.Errorf("server sends to %v, want %v", sconn.RemoteAddr(), newAddr)
	}
	st := sconn.Stats()
	if st.Migrations != 1 {
		t.Errorf("migrations %d", st.Migrations)
	}
	if !sconn.Established() || sconn.Err() != nil {
		t.Errorf("server connection: %v", sconn.Err())
	}
}
