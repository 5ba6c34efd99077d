package qrtp_test

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestPriorityUnderBottleneck: 20 message streams queue the same amount at
// once behind a 4 Mbit/s bottleneck. The one high-priority stream
// completes before any other stream completes (strict priority), and the
// 19 equal-priority streams share the rest fairly (deficit round robin):
// they finish close together.
func TestPriorityUnderBottleneck(t *testing.T) {
	sim := newSim(t, 8)
	link(sim, netsim.LinkConfig{Rate: 4e6, Delay: 15 * time.Millisecond, QueueBytes: 60_000})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	key := srv.key.Public
	conn, _ := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{Profile: "live"})
	const streams, perStream, msgSize = 20, 15, 8000
	var ids []uint64
	deadline := sim.Now().Add(time.Minute)
	for i := 0; i < streams; i++ {
		prio := qrtp.PriorityVideo
		if i == 7 { // not the first opened: order of opening must not matter
			prio = qrtp.PriorityAudio
		}
		s, err := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, Priority: prio, SendBuffer: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID())
		for m := 0; m < perStream; m++ {
			if _, err := s.SendMessage(sim.Now(), make([]byte, msgSize), deadline); err != nil {
				t.Fatal(err)
			}
		}
	}
	high := ids[7]
	got := map[uint64]int{}
	done := map[uint64]time.Duration{}
	var order []uint64 // stream IDs in completion order
	var sconn *qrtp.Conn
	start := sim.Now()
	srv.app = func(now time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		for s := sconn.AcceptStream(); s != nil; s = sconn.AcceptStream() {
		}
		for _, id := range ids {
			s := sconn.Stream(id)
			if s == nil {
				continue
			}
			for {
				if _, ok := s.ReadMessage(); !ok {
					break
				}
				got[id]++
				if got[id] == perStream {
					done[id] = now.Sub(start)
					order = append(order, id)
				}
			}
		}
	}
	_ = sim.Wake(clientAddr)
	sim.RunWhile(func() bool { return len(done) < streams }, start.Add(time.Minute))
	if len(done) != streams {
		t.Fatalf("only %d streams completed", len(done))
	}
	if order[0] != high {
		t.Fatalf("first to complete: stream %d, want the high-priority stream %d", order[0], high)
	}
	// Strict priority: the high stream needs ~1/20 of the total time.
	total := done[order[len(order)-1]]
	if done[high] > total/10 {
		t.Errorf("high-priority stream took %v of %v", done[high], total)
	}
	// Fairness within the level: the others finish within 10% of each other.
	first, last := done[order[1]], done[order[len(order)-1]]
	if float64(last-first) > 0.1*float64(last) {
		t.Errorf("equal-priority streams finished between %v and %v", first, last)
	}
	t.Logf("high done at %v; others between %v and %v", done[high], first, last)
}
