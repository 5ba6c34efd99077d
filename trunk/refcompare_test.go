package trunk

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestCompareRefStrings: the allocation-free comparison orders refs as
// their String forms do, prefixes and "/" inside names included.
func TestCompareRefStrings(t *testing.T) {
	parts := []string{"", "a", "a/", "a/b", "ab", "a-", "b", "/", "a.b", "eu-a1", "eu-a10", "eu-a1/x"}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func() TrackRef {
		return TrackRef{Origin: parts[rnd.IntN(len(parts))], Room: parts[rnd.IntN(len(parts))], ID: parts[rnd.IntN(len(parts))]}
	}
	for range 20000 {
		a, b := pick(), pick()
		want := strings.Compare(a.String(), b.String())
		if got := compareRefStrings(a, b); got != want {
			t.Fatalf("compareRefStrings(%q, %q) = %d, want %d", a, b, got, want)
		}
	}
}

// TestMergeDeltaMatchesSort: on sorted records and deltas the merge gives
// what indexing and sorting gives.
func TestMergeDeltaMatchesSort(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	ids := func(n int) []string {
		seen := map[string]bool{}
		var out []string
		for range n {
			id := fmt.Sprintf("u%d", rnd.IntN(60))
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	parts := func(n int, tag string) []ParticipantState {
		var out []ParticipantState
		for _, id := range ids(n) {
			out = append(out, ParticipantState{ID: id, Name: tag})
		}
		return out
	}
	for range 2000 {
		held, add, gone := parts(rnd.IntN(40), "held"), parts(rnd.IntN(10), "add"), ids(rnd.IntN(10))
		got := mergeDelta(held, add, gone)
		want := sortDelta(held, add, gone)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("held %v add %v gone %v:\nmerge %v\nsort  %v", held, add, gone, got, want)
		}
	}
}

// TestSameRoomMatchesDeepEqual: the shortcuts of sameRoom and
// sameParticipant answer as reflect.DeepEqual does.
func TestSameRoomMatchesDeepEqual(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	part := func() ParticipantState {
		p := ParticipantState{ID: fmt.Sprint("u", rnd.IntN(3)), Name: fmt.Sprint("n", rnd.IntN(2)), Since: int64(rnd.IntN(2))}
		switch rnd.IntN(4) {
		case 0:
			p.Tracks = []TrackState{}
		case 1:
			p.Tracks = []TrackState{{ID: fmt.Sprint("t", rnd.IntN(2)), Kind: "video"}}
		}
		return p
	}
	room := func() RoomState {
		rs := RoomState{Origin: "a", Seq: uint64(rnd.IntN(3)), Room: "r", Mode: []string{"meeting", "live"}[rnd.IntN(2)]}
		for range rnd.IntN(4) {
			rs.Participants = append(rs.Participants, part())
		}
		if rnd.IntN(5) == 0 {
			rs.Participants = []ParticipantState{}
		}
		return rs
	}
	for range 20000 {
		a, b := room(), room()
		x, y := a, b
		x.Seq, y.Seq = 0, 0
		want := reflect.DeepEqual(x, y)
		if len(x.Participants) == 0 && len(y.Participants) == 0 {
			want = x.Mode == y.Mode && reflect.DeepEqual(x.Opts, y.Opts)
		}
		if got := sameRoom(&a, &b); got != want {
			t.Fatalf("sameRoom(%+v, %+v) = %v, want %v", a, b, got, want)
		}
		if len(a.Participants) > 0 && len(b.Participants) > 0 {
			p, q := a.Participants[0], b.Participants[0]
			if got, want := sameParticipant(&p, &q), reflect.DeepEqual(p, q); got != want {
				t.Fatalf("sameParticipant(%+v, %+v) = %v, want %v", p, q, got, want)
			}
		}
	}
}
