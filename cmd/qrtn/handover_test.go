package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

// TestMoveKeepsMirrorUntilNewTracks: x publishes on node a; w watches on
// node b, through the trunk. x then joins b itself (a move): on b the new
// session replaces x's mirror, but w keeps the mirror's track until the
// new session's track is there (make before break on the node moved to),
// and sees no leave. In the stalled case the trunk holds the mirror's
// packets back for most of a second just as x moves, and x publishes on b
// only after that: the mirror's track must stay although it went silent
// (it used to go after half a second of silence, before any track of its
// kind replaced it; a loaded machine's stall did that about once in 30
// runs).
func TestMoveKeepsMirrorUntilNewTracks(t *testing.T) {
	t.Run("prompt", func(t *testing.T) { testMoveKeepsMirror(t, false) })
	t.Run("stalled", func(t *testing.T) { testMoveKeepsMirror(t, true) })
}

func testMoveKeepsMirror(t *testing.T, stall bool) {
	spec := networkSpec{
		Nodes:  []nodeSpec{{"a-1", "eu", "access"}, {"b-1", "eu", "access"}},
		Trunks: [][2]string{{"a-1", "b-1"}},
		Link:   netsim.LinkConfig{Delay: 2 * time.Millisecond},
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
	if stall {
		waitMirrorDelivers(t, b, "m", "x")
	}
	time.Sleep(10 * time.Millisecond) // a later session start, to the millisecond
	moved := joinWithoutPublish(t, b, grant, &sfutest.Options{Audio: true})
	if stall {
		setTrunkDelay(t, net, 1000)
		time.Sleep(800 * time.Millisecond) // the mirror's track is silent longer than stillSending
		setTrunkDelay(t, net, 2)
	}
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

// waitMirrorDelivers waits until the mirror of participant id on n has a
// track that received media.
func waitMirrorDelivers(t *testing.T, n *node.Node, room, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r := n.SFU().Room(room); r != nil {
			if p := r.Participant(id); p != nil {
				for _, tr := range p.Tracks() {
					if !tr.LastPacket().IsZero() {
						return
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the mirror of %s on %s never received media", id, n.Name())
}

// setTrunkDelay sets the a-1–b-1 trunk's one-way delay.
func setTrunkDelay(t *testing.T, net *network, ms float64) {
	t.Helper()
	if _, err := net.SetLink(LinkSettings{From: "a-1", To: "b-1", DelayMs: ms}); err != nil {
		t.Fatal(err)
	}
}
