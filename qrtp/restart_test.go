package qrtp_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestRestartedResponderGetsFreshInit: a node dials a peer that is down
// (restarting), so its Init is built before the peer's new endpoint
// exists. The restarted peer refuses that Init's timestamp (its replay
// table starts empty, so nothing older than its start is accepted) and
// answers with a Retry, which makes the initiator rebuild the Init with a
// fresh timestamp at once: the connection is up within the next re-send
// interval, not after the dial gives up and backs off (it took 7.5 s).
func TestRestartedResponderGetsFreshInit(t *testing.T) {
	sim := newSim(t, 5)
	link(sim, netsim.LinkConfig{Delay: 25 * time.Millisecond})
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, func(c *qrtp.Config) { c.HandshakeTimeout = 20 * time.Second })
	down := true
	srv.filter = func(time.Time, netip.AddrPort, []byte) bool { return !down }

	key := srv.key.Public
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_ = sim.Wake(clientAddr)
	sim.RunFor(3 * time.Second) // the Init is re-sent, unanswered

	// The restart: a new endpoint with the node's key, created now.
	ep, err := qrtp.NewEndpoint(sim.Now(), qrtp.Config{Key: srv.key, Accept: true, Rand: rand.NewChaCha8([32]byte{9})})
	if err != nil {
		t.Fatal(err)
	}
	srv.ep, down = ep, false
	restart := sim.Now()
	var upAfter time.Duration
	sim.RunWhile(func() bool {
		for _, ev := range drainEvents(conn) {
			if ev.Kind == qrtp.EventConnected {
				upAfter = sim.Now().Sub(restart)
			}
		}
		return upAfter == 0
	}, restart.Add(10*time.Second))
	st := ep.Stats()
	t.Logf("connected %v after the restart; responder: %d expired, %d stale-Init retries, %d accepted", upAfter, st.HandshakeExpired, st.StaleInitRetries, st.HandshakesOK)
	if upAfter == 0 || upAfter > 1500*time.Millisecond {
		t.Fatalf("connected %v after the restart, want within 1.5 s", upAfter)
	}
	if st.HandshakeExpired == 0 || st.StaleInitRetries == 0 {
		t.Errorf("the stale Init was not refused and answered: %+v", st)
	}
}
