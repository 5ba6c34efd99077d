package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

// TestMoveKeepsMirrorUntilNewTracks: x publishes on node a; w watches on
// node b, through the trunk. x then joins b itself (a move): on b the new
// session replaces x's mirror, but w keeps the mirror's track until the
// new session's track is there (make before break on the node moved to),
// and sees no leave. In the slow case x moves before its mirror's track on
// b delivered anything (the flow through the 150 ms trunk is still
// starting) and publishes there only 250 ms after its join: the mirror's
// track must stay meanwhile (it once went at once, as if it had stopped;
// a loaded machine made that happen about once in 30 runs).
func TestMoveKeepsMirrorUntilNewTracks(t *testing.T) {
	t.Run("fast", func(t *testing.T) { testMoveKeepsMirror(t, 2*time.Millisecond, 0) })
	t.Run("slow", func(t *testing.T) { testMoveKeepsMirror(t, 150*time.Millisecond, 250*time.Millisecond) })
}

func testMoveKeepsMirror(t *testing.T, delay, publishAfter time.Duration) {
	spec := networkSpec{
		Nodes:  []nodeSpec{{"a-1", "eu", "access"}, {"b-1", "eu", "access"}},
		Trunks: [][2]string{{"a-1", "b-1"}},
		Link:   netsim.LinkConfig{Delay: delay},
	}
	net, err := startNetwork(context.Background(), spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	a, b := net.Node("a-1"), net.Node("b-1")
	watcher := dialClient(t, b, signaling.Grant{Identity: "w", Room: "m", Subscribe: true}, &sfutest.Options{Subscribe: true})
	grant := signaling.Grant{Identity: "x", Room: "m", Publish: true}
	dialClient(t, a, grant, &sfutest.Options{Audio: true})
	first := watcher.wait("x's track from a", func(m map[string]any) bool {
		return m["type"] == "track_published" && m["participant"] == "x"
	})
	oldID := first["track"].(map[string]any)["id"]
	time.Sleep(10 * time.Millisecond) // a later session start, to the millisecond
	moved := joinWithoutPublish(t, b, grant, &sfutest.Options{Audio: true})
	time.Sleep(publishAfter)
	if err := moved.pion.Publish(); err != nil {
		t.Fatal(err)
	}
	watcher.wait("x's track from b", func(m map[string]any) bool {
		return m["type"] == "track_published" && m["participant"] == "x" && m["track"].(map[string]any)["id"] != oldID
	})
	watcher.wait("x's old track gone", func(m map[string]any) bool {
		return m["type"] == "track_unpublished" && m["participant"] == "x"
	})
	var order []string
	watcher.mu.Lock()
	for _, m := range watcher.msgs {
		switch m["type"] {
		case "track_published", "track_unpublished", "participant_left", "participant_joined":
			if msgParticipant(m) == "x" {
				order = append(order, m["type"].(string))
			}
		}
	}
	watcher.mu.Unlock()
	want := []string{"participant_joined", "track_published", "track_published", "track_unpublished"}
	if len(order) < 4 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Errorf("w saw %v, want %v: the new track before the old one goes, no leave", order, want)
	}
	if watcher.count("participant_left") != 0 {
		t.Error("w saw a leave")
	}
}

// msgParticipant is the participant ID a message is about: `participant`
// is an ID in most messages and an object in participant_joined.
func msgParticipant(m map[string]any) any {
	if p, ok := m["participant"].(map[string]any); ok {
		return p["id"]
	}
	return m["participant"]
}
