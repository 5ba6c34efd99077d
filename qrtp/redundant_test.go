package qrtp_test

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// sparseLatencies sends a small message every 200 ms on a reliable stream
// over 40 ms links with 10% loss, nothing else on the connection, and
// returns each message's time from write to arrival.
func sparseLatencies(t *testing.T, redundant bool) []time.Duration {
	t.Helper()
	sim := newSim(t, 7)
	link(sim, netsim.LinkConfig{Delay: 40 * time.Millisecond, Loss: netsim.Bernoulli(0.1)})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	key := srv.key.Public
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := conn.OpenStream(qrtp.StreamOptions{Redundant: redundant})
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 150, 100
	sentAt := make([]time.Time, n)
	var got []time.Duration
	var ss *qrtp.Stream
	var sconn *qrtp.Conn
	var buf []byte
	srv.app = func(now time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		if ss == nil {
			if ss = sconn.AcceptStream(); ss == nil {
				return
			}
		}
		b := make([]byte, 4096)
		for {
			k, _ := ss.Read(b)
			if k == 0 {
				break
			}
			buf = append(buf, b[:k]...)
		}
		for len(buf) >= size {
			i := binary.BigEndian.Uint32(buf)
			got = append(got, now.Sub(sentAt[i]))
			buf = buf[size:]
		}
	}
	for i := range n {
		sim.At(sim.Now().Add(time.Second+time.Duration(i)*200*time.Millisecond), func() {
			m := make([]byte, size)
			binary.BigEndian.PutUint32(m, uint32(i))
			sentAt[i] = sim.Now()
			if _, err := st.Write(m); err != nil {
				t.Error(err)
			}
			_ = sim.Wake(clientAddr)
		})
	}
	_ = sim.Wake(clientAddr)
	sim.RunWhile(func() bool { return len(got) < n }, sim.Now().Add(time.Minute))
	if len(got) != n {
		t.Fatalf("redundant=%v: %d of %d messages arrived", redundant, len(got), n)
	}
	slices.Sort(got)
	return got
}

// TestRedundantTailArrivesWithoutWaitingForLoss: a sparse stream of small
// messages over a lossy link. Plain, a lost message waits for a loss to be
// detected and a retransmission (every tenth message or so takes three
// times the one-way delay); Redundant, its second copy in the next packet
// arrives, and only the rare message whose two copies are both lost is
// late.
func TestRedundantTailArrivesWithoutWaitingForLoss(t *testing.T) {
	plain := sparseLatencies(t, false)
	red := sparseLatencies(t, true)
	late := func(xs []time.Duration) int {
		n := 0
		for _, x := range xs {
			if x > 60*time.Millisecond {
				n++
			}
		}
		return n
	}
	t.Logf("late (over 60 ms, one way 40 ms): plain %d, redundant %d of %d; slowest %v and %v",
		late(plain), late(red), len(red), plain[len(plain)-1], red[len(red)-1])
	if late(plain) < 8 {
		t.Errorf("plain: only %d late: the link lost too little to tell", late(plain))
	}
	if late(red) > late(plain)/3 {
		t.Errorf("redundant: %d late, plain %d", late(red), late(plain))
	}
}
