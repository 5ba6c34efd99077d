package qrtp_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestDeadlineMessagesExpireExactlyWhenTheyCannotMakeIt sends a message
// every 10 ms with a 250 ms deadline over an 80 ms RTT path, and blacks out
// the forward path for 200 ms. A lost message is retransmitted while
// now + srtt/2 < deadline and expired otherwise, so:
//   - every message is either delivered or expired, and both ends agree
//     on which (MESSAGE_EXPIRED reaches the receiver);
//   - the sender never gives up on a message that could still arrive:
//     at expiry, now + srtt/2 >= deadline;
//   - everything delivered arrives before its deadline, including
//     retransmissions;
//   - the outage produces both kinds: early-outage messages expire, late
//     ones are recovered by retransmission in time.
func TestDeadlineMessagesExpireExactlyWhenTheyCannotMakeIt(t *testing.T) {
	sim := newSim(t, 9)
	link(sim, netsim.LinkConfig{Rate: 20e6, Delay: 40 * time.Millisecond})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	key := srv.key.Public
	conn, _ := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{Profile: "meeting"})
	const lifetime = 250 * time.Millisecond
	s, _ := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, Deadline: lifetime})

	start := sim.Now()
	outFrom, outTo := start.Add(1000*time.Millisecond), start.Add(1200*time.Millisecond)
	srv.filter = func(now time.Time, _ netip.AddrPort, _ []byte) bool {
		return now.Before(outFrom) || !now.Before(outTo)
	}

	deadlines := map[uint64]time.Time{}
	sentAt := map[uint64]time.Time{}
	stop := sim.Every(10*time.Millisecond, func() {
		now := sim.Now()
		if now.Sub(start) > 2*time.Second {
			return
		}
		seq, err := s.SendMessage(now, make([]byte, 900), time.Time{})
		if err != nil {
			t.Errorf("send: %v", err)
			return
		}
		deadlines[seq], sentAt[seq] = now.Add(lifetime), now
	})
	defer stop()

	senderExpired := map[uint64]bool{}
	senderDelivered := map[uint64]bool{}
	cli.app = func(now time.Time) {
		for _, ev := range drainEvents(conn) {
			switch ev.Kind {
			case qrtp.EventMessageExpired:
				senderExpired[ev.Seq] = true
				srtt := conn.Stats().SmoothedRTT
				if now.Add(srtt / 2).Before(deadlines[ev.Seq]) {
					t.Errorf("message %d expired at %v with srtt/2 %v, but its deadline is %v: it could still arrive",
						ev.Seq, now.Sub(start), srtt/2, deadlines[ev.Seq].Sub(start))
				}
			case qrtp.EventMessageDelivered:
				senderDelivered[ev.Seq] = true
			}
		}
	}
	receiverExpired := map[uint64]bool{}
	arrived := map[uint64]time.Time{}
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
		for _, ev := range drainEvents(sconn) {
			if ev.Kind == qrtp.EventMessageExpired {
				receiverExpired[ev.Seq] = true
			}
		}
		for rs != nil {
			m, ok := rs.ReadMessage()
			if !ok {
				break
			}
			arrived[m.Seq] = now
		}
	}
	_ = sim.Wake(clientAddr)
	sim.RunFor(3 * time.Second)

	recovered, lostInOutage := 0, 0
	for seq, dl := range deadlines {
		at, got := arrived[seq]
		switch {
		case got && senderExpired[seq]:
			t.Errorf("message %d both delivered and expired", seq)
		case got && at.After(dl):
			t.Errorf("message %d arrived %v after its deadline", seq, at.Sub(dl))
		case !got && !senderExpired[seq]:
			t.Errorf("message %d neither delivered nor expired", seq)
		case senderExpired[seq] != receiverExpired[seq]:
			t.Errorf("message %d: sender expired %v, receiver expired %v", seq, senderExpired[seq], receiverExpired[seq])
		case got && !senderDelivered[seq]:
			t.Errorf("message %d arrived but the sender never saw it acknowledged", seq)
		}
		arrival := sentAt[seq].Add(40 * time.Millisecond) // the filter drops by arrival time
		inOutage := !arrival.Before(outFrom) && arrival.Before(outTo)
		if inOutage && got {
			recovered++
		}
		if inOutage && !got {
			lostInOutage++
		}
		if !inOutage && !got {
			t.Errorf("message %d sent outside the outage did not arrive", seq)
		}
	}
	if recovered == 0 || lostInOutage == 0 {
		t.Errorf("outage messages: %d recovered in time, %d expired; want some of each", recovered, lostInOutage)
	}
	t.Logf("%d messages: %d expired (all in the outage), %d outage messages recovered by retransmission", len(deadlines), len(senderExpired), recovered)
}
