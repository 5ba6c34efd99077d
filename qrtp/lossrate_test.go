package qrtp_test

import (
	"math"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestLossRateMatchesTheLink: the loss rate a connection reports (what
// trunks flood to the route planner and show operators) is the link's
// loss, whether the connection carries media or only keep-alives.
func TestLossRateMatchesTheLink(t *testing.T) {
	for _, tc := range []struct {
		name  string
		media bool
	}{{"keep-alives only", false}, {"media", true}} {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t, 7)
			link(sim, netsim.LinkConfig{Delay: 40 * time.Millisecond, Loss: netsim.Bernoulli(0.10)})
			cfg := func(c *qrtp.Config) { c.Conn.KeepAlive = 100 * time.Millisecond; c.Conn.Profile = "meeting" }
			client := newPeer(t, sim, clientAddr, 1, cfg)
			server := newPeer(t, sim, serverAddr, 2, cfg)
			key := server.key.Public
			conn, err := client.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{})
			if err != nil {
				t.Fatal(err)
			}
			server.app = func(time.Time) {
				for c := server.ep.Accept(); c != nil; c = server.ep.Accept() {
				}
				for _, c := range server.ep.Conns() {
					for s := c.AcceptStream(); s != nil; s = c.AcceptStream() {
					}
					for _, ev := range drainEvents(c) {
						if s := c.Stream(ev.StreamID); s != nil {
							for _, ok := s.ReadMessage(); ok; _, ok = s.ReadMessage() {
							}
						}
					}
				}
			}
			if tc.media {
				s, err := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage})
				if err != nil {
					t.Fatal(err)
				}
				frame := make([]byte, 2000)
				sim.Every(40*time.Millisecond, func() {
					_, _ = s.SendMessage(sim.Now(), frame, sim.Now().Add(400*time.Millisecond))
				})
			}
			sim.RunFor(30 * time.Second)
			st := conn.Stats()
			if math.Abs(st.LossRate-0.10) > 0.03 {
				t.Fatalf("reported loss %.3f on a 10%% link (sent %d, lost %d, acked %d)",
					st.LossRate, st.PacketsSent, st.PacketsLost, st.PacketsAcked)
			}
		})
	}
}
