package trunk

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestRoomDelta: a change described as a delta and applied to the old
// record gives the new record, whatever was added, changed or removed.
func TestRoomDelta(t *testing.T) {
	part := func(id string, tracks int) ParticipantState {
		p := ParticipantState{ID: id, Name: id}
		for i := range tracks {
			p.Tracks = append(p.Tracks, TrackState{ID: fmt.Sprint(id, i), Kind: "audio"})
		}
		return p
	}
	prev := RoomState{Origin: "a", Seq: 10, Room: "r", Mode: "live"}
	for i := range 40 {
		prev.Participants = append(prev.Participants, part(fmt.Sprintf("v%02d", i), 0))
	}
	next := prev
	next.Seq = 12
	next.Participants = append([]ParticipantState{part("host", 2)}, prev.Participants[3:]...) // 3 left, host joined
	next.Participants[5] = part(next.Participants[5].ID, 1)                                   // one publishes now
	sortParts(next.Participants)
	d, small := roomDelta(prev, next)
	if !small || d.Base != 10 || len(d.Gone) != 3 || len(d.Participants) != 2 {
		t.Fatalf("delta: small=%v base %d gone %v changed %d", small, d.Base, d.Gone, len(d.Participants))
	}
	if got := applyDelta(prev, d); !reflect.DeepEqual(got, next) {
		t.Fatalf("applied delta:\n%+v\nwant\n%+v", got, next)
	}
	// A change of most of the room goes whole.
	next.Participants = next.Participants[:2]
	if _, small := roomDelta(prev, next); small {
		t.Fatal("a delta larger than half the record was preferred")
	}
}

// TestForgottenOriginStaysForgotten: after an origin is forgotten, a late
// copy of one of its older records is refused by both databases, and a
// newer one (the node is back) accepted.
func TestForgottenOriginStaysForgotten(t *testing.T) {
	now := time.Unix(1000, 0)
	ls := newLSDB(time.Minute)
	rooms := newRoomDB()
	ls.update(now, LinkState{Origin: "x", Seq: 10})
	rooms.update(now, RoomState{Origin: "x", Seq: 12, Room: "r", Participants: []ParticipantState{{ID: "p"}}})
	seq := ls.lastSeq("x")
	ls.drop(now, "x")
	if got := rooms.dropOrigin(now, "x", seq); len(got) != 1 {
		t.Fatalf("dropped rooms %v", got)
	}
	if ls.update(now, LinkState{Origin: "x", Seq: 9}) || rooms.update(now, RoomState{Origin: "x", Seq: 11, Room: "r"}) {
		t.Fatal("a late copy of an older record brought a forgotten origin back")
	}
	if !ls.update(now, LinkState{Origin: "x", Seq: 13}) || !rooms.update(now, RoomState{Origin: "x", Seq: 14, Room: "r"}) {
		t.Fatal("a newer record of a forgotten origin was refused")
	}
	// The memory fades: much later even an old number is a new life.
	ls.drop(now, "x")
	ls.expire(now.Add(goneMemory+time.Second), func(string) bool { return true })
	if !ls.update(now, LinkState{Origin: "x", Seq: 1}) {
		t.Fatal("an origin forgotten long ago is still refused")
	}
}

// TestUnreachableOrigins: an origin no path of trunks up at both ends
// reaches is reported once it stayed so for the grace time.
func TestUnreachableOrigins(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newLSDB(time.Minute)
	up := func(peers ...string) []LinkMetric {
		var out []LinkMetric
		for _, p := range peers {
			out = append(out, LinkMetric{Peer: p, Up: true})
		}
		return out
	}
	d.update(now, LinkState{Origin: "self", Seq: 1, Links: up("f")})
	d.update(now, LinkState{Origin: "f", Seq: 1, Links: append(up("self"), LinkMetric{Peer: "x"})})
	d.update(now, LinkState{Origin: "x", Seq: 1, Links: up("f")}) // x's stale word: f says the trunk is down
	if got := d.unreachable(now, "self", time.Second); len(got) != 0 {
		t.Fatalf("reported at once: %v", got)
	}
	if got := d.unreachable(now.Add(time.Second), "self", time.Second); len(got) != 1 || got[0] != "x" {
		t.Fatalf("unreachable %v, want [x]", got)
	}
	d.update(now, LinkState{Origin: "f", Seq: 2, Links: up("self", "x")})
	if got := d.unreachable(now.Add(2*time.Second), "self", time.Second); len(got) != 0 {
		t.Fatalf("x reachable again, still reported: %v", got)
	}
}

func sortParts(ps []ParticipantState) {
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if ps[j].ID < ps[i].ID {
				ps[i], ps[j] = ps[j], ps[i]
			}
		}
	}
}
