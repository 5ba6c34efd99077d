package qrtp_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

func TestReliableTransferSmoke(t *testing.T) {
	sim := netsim.New(netsim.Config{Seed: 1})
	link(sim, netsim.LinkConfig{Rate: 50e6, Delay: 10 * time.Millisecond, QueueBytes: 200_000})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)

	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	key := srv.key.Public
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := conn.OpenStream(qrtp.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	cli.app = func(now time.Time) {
		for written < len(data) {
			n, _ := st.Write(data[written:])
			written += n
			if n == 0 {
				break
			}
		}
		if written == len(data) {
			st.Close()
		}
	}
	var got bytes.Buffer
	var sconn *qrtp.Conn
	var rs *qrtp.Stream
	eof := false
	buf := make([]byte, 64<<10)
	srv.app = func(now time.Time) {
		if sconn == nil {
			sconn = srv.ep.Accept()
		}
		if sconn == nil {
			return
		}
		if rs == nil {
			rs = sconn.AcceptStream()
		}
		for rs != nil && !eof {
			n, err := rs.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				eof = true
			}
			if n == 0 {
				break
			}
		}
	}
	sim.RunWhile(func() bool { return !eof }, sim.Now().Add(30*time.Second))
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d bytes, want %d (eof %v)", got.Len(), len(data), eof)
	}
	cs := conn.Stats()
	t.Logf("elapsed %v, stats: sent %d lost %d rtt %v cwnd %d retx %d, sim %+v", sim.Elapsed(), cs.PacketsSent, cs.PacketsLost, cs.SmoothedRTT, cs.CWND, cs.BytesRetransmitted, sim.Stats())
}
