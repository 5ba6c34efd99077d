package qrtp_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestFragmentedMessagesUnderLoss: 20 KB messages (15 fragments each) at 30
// per second over 10% random loss in both directions arrive whole, each
// before its 1 s deadline, because lost fragments are retransmitted while
// there is time. Nothing expires.
func TestFragmentedMessagesUnderLoss(t *testing.T) {
	sim := newSim(t, 12)
	link(sim, netsim.LinkConfig{Rate: 20e6, Delay: 30 * time.Millisecond, QueueBytes: 100_000, Loss: netsim.Bernoulli(0.10)})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	key := srv.key.Public
	// NewReno cannot carry 4.8 Mbit/s through 10% random loss; qbbr,
	// which tells random loss from congestion, can.
	conn, _ := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{Profile: "live", CongestionControl: "qbbr"})
	s, _ := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage})
	start := sim.Now()
	deadlines := map[uint64]time.Time{}
	stop := sim.Every(33*time.Millisecond, func() {
		if sim.Now().Sub(start) >= 5*time.Second {
			return
		}
		msg := pattern(20000, byte(len(deadlines)))
		seq, err := s.SendMessage(sim.Now(), msg, time.Time{})
		if err != nil {
			t.Errorf("send: %v", err)
			return
		}
		deadlines[seq] = sim.Now().Add(time.Second)
	})
	defer stop()
	late, bad := 0, 0
	got := map[uint64]bool{}
	var sconn *qrtp.Conn
	var rs *qrtp.Stream
	srv.app = func(now time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		if rs == nil {
			rs = sconn.AcceptStream()
		}
		for rs != nil {
			m, ok := rs.ReadMessage()
			if !ok {
				break
			}
			if now.After(deadlines[m.Seq]) {
				late++
			}
			if string(m.Data) != string(pattern(20000, byte(m.Seq))) {
				bad++
			}
			got[m.Seq] = true
		}
	}
	_ = sim.Wake(clientAddr)
	sim.RunFor(7 * time.Second)
	st := conn.Stats()
	if len(got) != len(deadlines) || late != 0 || bad != 0 || st.MessagesExpired != 0 {
		t.Fatalf("%d of %d messages, %d late, %d corrupt, %d expired", len(got), len(deadlines), late, bad, st.MessagesExpired)
	}
	if st.BytesRetransmitted == 0 || st.MessagesDelivered != uint64(len(deadlines)) {
		t.Fatalf("retransmitted %d bytes, delivered %d", st.BytesRetransmitted, st.MessagesDelivered)
	}
}
