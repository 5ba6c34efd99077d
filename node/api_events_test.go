package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/webhook"
)

func snap(room string, parts ...string) roomsSnap {
	rs := roomSnap{mode: "meeting", parts: map[string]partSnap{}}
	for _, p := range parts {
		rs.parts[p] = partSnap{name: p, tracks: map[string]webhook.Track{}}
	}
	return roomsSnap{room: rs}
}

func names(evs []webhook.Event) string {
	var out []string
	for _, e := range evs {
		s := e.Event
		if e.Participant != nil {
			s += ":" + e.Participant.Identity
			if e.Participant.From != "" {
				s += "<" + e.Participant.From
			}
		}
		out = append(out, s)
	}
	return fmt.Sprint(out)
}

// TestDiffEvents: the room-level decisions that make each event once per
// network.
func TestDiffEvents(t *testing.T) {
	none := peerView{}
	elsewhere := peerView{rooms: map[string]bool{"r": true}, where: map[string]map[string]string{"r": {"x": "eu-1"}}}
	for _, c := range []struct {
		name      string
		prev, cur roomsSnap
		others    peerView
		want      string
		finished  int
	}{
		{"first node opens the room", roomsSnap{}, snap("r", "a"), none, "[room_started participant_joined:a]", 0},
		{"another node has it", roomsSnap{}, snap("r", "a"), elsewhere, "[participant_joined:a]", 0},
		{"joins here while still on eu-1: moved", roomsSnap{}, snap("r", "x"), elsewhere, "[participant_moved:x<eu-1]", 0},
		{"leaves here but is on eu-1 now: no left", snap("r", "x", "b"), snap("r", "b"), elsewhere, "[]", 0},
		{"last node closes it", snap("r", "a"), roomsSnap{}, none, "[participant_left:a room_finished]", 0},
		{"closes here, open elsewhere: ask again later", snap("r", "a"), roomsSnap{}, elsewhere, "[participant_left:a]", 1},
	} {
		evs, fin := diffEvents(c.prev, c.cur, c.others)
		if names(evs) != c.want || len(fin) != c.finished {
			t.Errorf("%s: %s finished %v, want %s", c.name, names(evs), fin, c.want)
		}
	}
}

// TestSettleFinished: a room that closed here while another node had it
// is reported by exactly one node.
func TestSettleFinished(t *testing.T) {
	t0 := time.Unix(1000, 0)
	elsewhere := peerView{rooms: map[string]bool{"r": true}}
	gone := peerView{}
	cases := []struct {
		name         string
		self, first  string
		after        time.Duration
		open         bool
		others       peerView
		report, done bool
	}{
		{"still elsewhere, inside the window", "us-1", "eu-1", 200 * time.Millisecond, false, elsewhere, false, false},
		{"still elsewhere after the window: the last to close reports", "us-1", "eu-1", time.Second, false, elsewhere, false, true},
		{"closed together, larger name", "us-1", "eu-1", 300 * time.Millisecond, false, gone, false, true},
		{"closed together, smaller name", "eu-1", "us-1", 300 * time.Millisecond, false, gone, true, true},
		{"gone late: the other reported it", "eu-1", "us-1", 2 * time.Second, false, gone, false, true},
		{"reopened here", "eu-1", "us-1", 100 * time.Millisecond, true, gone, false, true},
	}
	for _, c := range cases {
		p := pendingFinish{closedAt: t0, first: c.first}
		report, done := settleFinished(p, t0.Add(c.after), c.self, c.open, c.others, "r")
		if report != c.report || done != c.done {
			t.Errorf("%s: report %v done %v, want %v %v", c.name, report, done, c.report, c.done)
		}
	}
}
