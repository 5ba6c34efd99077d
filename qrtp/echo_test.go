package qrtp_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestEchoTailLoss echoes 1 MiB through 5% loss in both directions, the
// server closing its half once it has echoed everything. These seeds lose
// a packet just before the one carrying the FIN: the FIN's ACK must not
// finish the stream while earlier bytes still need retransmission (it
// once did, and the echo stalled a few KB short of the end).
func TestEchoTailLoss(t *testing.T) {
	for _, seed := range []uint64{1, 9, 13, 19, 25, 33, 41, 55, 64, 67} {
		sim := newSim(t, seed)
		link(sim, netsim.LinkConfig{Delay: 5 * time.Millisecond, Loss: netsim.Bernoulli(0.05)})
		srv := newPeer(t, sim, serverAddr, 2, nil)
		cli := newPeer(t, sim, clientAddr, 1, nil)
		data := pattern(1<<20, byte(seed))
		key := srv.key.Public
		conn, _ := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
		st, _ := conn.OpenStream(qrtp.StreamOptions{})
		src := &source{s: st, data: data}
		back := &sink{s: st}
		cli.app = func(time.Time) { src.fill(); back.drain() }
		var sconn *qrtp.Conn
		var ss *qrtp.Stream
		var pending []byte
		buf := make([]byte, 64<<10)
		eof, closed := false, false
		srv.app = func(time.Time) {
			if sconn == nil {
				if sconn = srv.ep.Accept(); sconn == nil {
					return
				}
			}
			if ss == nil {
				ss = sconn.AcceptStream()
			}
			if ss == nil {
				return
			}
			for !eof && len(pending) < 1<<20 {
				n, err := ss.Read(buf)
				pending = append(pending, buf[:n]...)
				if err == io.EOF {
					eof = true
				}
				if n == 0 {
					break
				}
			}
			for len(pending) > 0 {
				n, _ := ss.Write(pending)
				pending = pending[n:]
				if n == 0 {
					break
				}
			}
			if eof && len(pending) == 0 && !closed {
				closed = true
				ss.Close()
			}
		}
		_ = sim.Wake(clientAddr)
		sim.RunWhile(func() bool { return !back.eof }, sim.Now().Add(30*time.Second))
		if !bytes.Equal(back.got.Bytes(), data) || !back.eof {
			t.Errorf("seed %d: echoed %d of %d bytes (eof %v) after %v", seed, back.got.Len(), len(data), back.eof, sim.Elapsed())
		}
	}
}
