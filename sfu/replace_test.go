package sfu

import (
	"errors"
	"testing"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestMirrorReplacesOnlyTheSessionItWasGiven: a trunk's mirror of an
// identity replaces a local participant of that identity only when it was
// given that participant (ParticipantParams.Replaces: the trunk saw it and
// found the remote session newer). A local session that joined after the
// trunk looked (the participant moving here from the node it drains) is
// not replaced by a mirror of the session it left: that closed the new
// session as replaced, the client took it for its old one, and the room
// then saw it leave when the old node let go
// (TestBrowsersMoveBetweenAccessNodes).
func TestMirrorReplacesOnlyTheSessionItWasGiven(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	join(t, s, "r", "ann", sfutest.Options{Subscribe: true})
	cat := join(t, s, "r", "cat", sfutest.Options{Subscribe: true})
	room := s.Room("r")

	// The trunk looked before cat joined: no local session to replace.
	if _, err := s.Join("r", "", ParticipantParams{ID: "cat", CanPublish: true, Remote: true, KeepWhenReplaced: true}); !errors.Is(err, ErrLocalSession) {
		t.Fatalf("a mirror over a local session it was not given: err %v, want ErrLocalSession", err)
	}
	if room.Participant("cat") != cat.p {
		t.Fatal("the local session is no longer the room's cat")
	}
	// Nor one that is not the local session now (an older one).
	other, err := s.Join("r", "", ParticipantParams{ID: "dan", CanSubscribe: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := s.Join("r", "", ParticipantParams{ID: "cat", Remote: true, Replaces: other}); !errors.Is(err, ErrLocalSession) {
		t.Fatalf("a mirror given another participant: err %v, want ErrLocalSession", err)
	}

	// The trunk found cat's session elsewhere newer: the mirror replaces
	// it, and it closes as replaced.
	m, err := s.Join("r", "", ParticipantParams{ID: "cat", CanPublish: true, Remote: true, KeepWhenReplaced: true, Replaces: cat.p})
	if err != nil {
		t.Fatal(err)
	}
	cat.waitEvent("closed as replaced", func(e Event) bool { c, ok := e.(Closed); return ok && c.Reason == ErrReplaced })
	if room.Participant("cat") != m {
		t.Fatal("the mirror is not the room's cat")
	}
	// A mirror replaces a mirror (its identity moved between other nodes).
	m2, err := s.Join("r", "", ParticipantParams{ID: "cat", Remote: true})
	if err != nil {
		t.Fatalf("a mirror over a mirror: %v", err)
	}
	defer m2.Close()
	if room.Participant("cat") != m2 {
		t.Fatal("the second mirror is not the room's cat")
	}
}
