package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestICERestartBothConnections restarts ICE on the subscriber connection
// (the SFU offers with new credentials, twice in a row: the second request
// folds into the next offer) and on the publisher connection (the client
// offers with new credentials); both connections change credentials and
// media keeps flowing.
func TestICERestartBothConnections(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	pub := join(t, s, "r", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true})
	sub := join(t, s, "r", "bob", sfutest.Options{Subscribe: true})
	flowing := func(what string) {
		t.Helper()
		before := sub.c.Received()
		v0, _ := trackOf(before, "video")
		a0, _ := trackOf(before, "audio")
		sub.waitRecv(what, func(st map[string]sfutest.TrackStats) bool {
			v, okv := trackOf(st, "video")
			a, oka := trackOf(st, "audio")
			return okv && oka && v.Packets > v0.Packets+30 && a.Packets > a0.Packets+20
		})
	}
	flowing("media before the restarts")

	_, subUfrag := sub.c.ICEUfrags()
	if err := sub.p.RestartICE(TargetSubscriber); err != nil {
		t.Fatal(err)
	}
	if err := sub.p.RestartICE(TargetSubscriber); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "new subscriber credentials", func() bool {
		_, u := sub.c.ICEUfrags()
		return u != "" && u != subUfrag
	})
	flowing("media after the subscriber restart")
	candidatesFollowTheirOffer(t, sub)

	pubUfrag, _ := pub.c.ICEUfrags()
	if err := pub.c.RestartPublisherICE(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "new publisher credentials", func() bool {
		u, _ := pub.c.ICEUfrags()
		return u != "" && u != pubUfrag
	})
	flowing("media after the publisher restart")
	if err := sub.p.RestartICE(TargetPublisher); err != ErrForbidden {
		t.Errorf("a subscriber's publisher restart: %v, want forbidden", err)
	}
}

// TestReplaceIsAMove: a second join with an identity replaces the first
// without the others seeing it leave or join; they see its old tracks go.
func TestReplaceIsAMove(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	watcher := join(t, s, "r", "w", sfutest.Options{Subscribe: true})
	first := join(t, s, "r", "x", sfutest.Options{Audio: true})
	watcher.waitEvent("x's track", func(e Event) bool { _, ok := e.(TrackPublished); return ok })
	watcher.clearEvents()
	second := join(t, s, "r", "x", sfutest.Options{Audio: true})
	first.waitEvent("closed as replaced", func(e Event) bool { c, ok := e.(Closed); return ok && c.Reason == ErrReplaced })
	watcher.waitEvent("old track unpublished", func(e Event) bool { _, ok := e.(TrackUnpublished); return ok })
	watcher.waitEvent("new track published", func(e Event) bool { _, ok := e.(TrackPublished); return ok })
	watcher.mu.Lock()
	defer watcher.mu.Unlock()
	for _, e := range watcher.events {
		switch e.(type) {
		case ParticipantLeft, ParticipantJoined:
			t.Errorf("the watcher saw %T for a replacement", e)
		}
	}
	if !second.p.Since().After(first.p.Since()) {
		t.Errorf("the replacement's session began %v, not after the first's %v", second.p.Since(), first.p.Since())
	}
}

// candidatesFollowTheirOffer checks that every subscriber candidate the
// peer was sent belongs to the last offer sent before it: a candidate of a
// restart's new generation sent ahead of the offer carries a ufrag the
// client cannot know yet.
func candidatesFollowTheirOffer(t *testing.T, pr *peer) {
	t.Helper()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	ufrag := ""
	for _, e := range pr.events {
		switch e := e.(type) {
		case Offer:
			for _, line := range strings.Split(e.SDP, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
					ufrag = v
				}
			}
		case Candidate:
			if e.Target != TargetSubscriber || e.Candidate == nil {
				continue
			}
			c, err := ice.UnmarshalCandidate(strings.TrimPrefix(e.Candidate.Candidate, "candidate:"))
			if err != nil {
				t.Fatalf("candidate %q: %v", e.Candidate.Candidate, err)
			}
			if u, ok := c.GetExtension("ufrag"); ok && u.Value != ufrag {
				t.Errorf("a subscriber candidate of ufrag %s was sent while the last offer had %q", u.Value, ufrag)
			}
		}
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCutPaths: the path-fault hook silences the addresses in use, and
// only them, until the cut ends.
func TestCutPaths(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.PathFaults = true })
	defer s.Close()
	join(t, s, "r", "alice", sfutest.Options{Layers: []string{"s", "l"}})
	sub := join(t, s, "r", "bob", sfutest.Options{Subscribe: true})
	sub.waitRecv("video", func(st map[string]sfutest.TrackStats) bool {
		v, ok := trackOf(st, "video")
		return ok && v.Packets > 30
	})
	if n := s.CutPaths(1500 * time.Millisecond); n < 2 {
		t.Fatalf("cut %d addresses, want both clients'", n)
	}
	time.Sleep(300 * time.Millisecond) // packets in flight drain
	v0, _ := trackOf(sub.c.Received(), "video")
	time.Sleep(500 * time.Millisecond)
	if v, _ := trackOf(sub.c.Received(), "video"); v.Packets > v0.Packets+2 {
		t.Fatalf("%d packets arrived through a cut path", v.Packets-v0.Packets)
	}
	sub.waitRecv("video after the cut", func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.Packets > v0.Packets+30
	})
	plain := newTestSFU(t, nil)
	defer plain.Close()
	if n := plain.CutPaths(time.Second); n != 0 {
		t.Errorf("a node without path faults cut %d addresses", n)
	}
}
