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
