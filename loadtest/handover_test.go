package loadtest

import (
	"slices"
	"testing"
	"time"
)

func TestStillNeededWaitsForEveryKindTheOldLinkCarries(t *testing.T) {
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	old := map[string]time.Time{
		"pub/video":   ms(980),
		"pub/audio":   ms(995),
		"other/video": ms(100), // stopped 900 ms ago: left, muted or let go
	}
	cases := []struct {
		name string
		cur  map[string]time.Time
		want []string
	}{
		{"nothing yet", nil, []string{"pub/audio", "pub/video"}},
		{"audio only", map[string]time.Time{"pub/audio": ms(990)}, []string{"pub/video"}},
		{"both", map[string]time.Time{"pub/audio": ms(990), "pub/video": ms(999)}, nil},
	}
	for _, c := range cases {
		got := stillNeeded(ms(1000), old, c.cur)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: still needed %v, want %v", c.name, got, c.want)
		}
	}
	if got := stillNeeded(ms(1600), old, nil); len(got) != 0 {
		t.Errorf("the old link stopped delivering, yet %v still hold it", got)
	}
}

func TestLinkEndedOnce(t *testing.T) {
	l := newLink(nil, "http://x")
	l.markEnded()
	l.markEnded()
	select {
	case <-l.endedCh:
	default:
		t.Fatal("ended not signalled")
	}
	if !oldPublisherDone(l) {
		t.Error("a link without a publisher connection holds nothing")
	}
}

// TestGapNetOfPublisherPause: a silence the publisher left itself (the
// next frame of the same track, sent as late as it arrived) is not the
// network's; one across tracks (a move) or with frames lost is.
func TestGapNetOfPublisherPause(t *testing.T) {
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	g := newGapMeter()
	key := "pub/video"
	g.frame(key, at(0), frameSrc{track: "a", no: 1, sent: at(-5)})
	g.frame(key, at(200), frameSrc{track: "a", no: 2, sent: at(195)}) // the publisher paused 200 ms
	g.frame(key, at(240), frameSrc{track: "a", no: 3, sent: at(235)})
	g.frame(key, at(390), frameSrc{track: "a", no: 4, sent: at(275)}) // sent on time, arrived 115 ms late
	g.frame(key, at(530), frameSrc{track: "b", no: 1, sent: at(500)}) // a new track after a move
	g.frame(key, at(700), frameSrc{track: "b", no: 5, sent: at(660)}) // frames 2-4 lost
	gaps := g.list(minGap)
	if len(gaps) != 4 {
		t.Fatalf("gaps %+v, want 4", gaps)
	}
	wantNet := []float64{40, 150, 140, 170}
	wantCause := []string{causeLate, causeLate, causeMove, causeLoss}
	for i, w := range wantNet {
		if gaps[i].NetMs != w || gaps[i].Cause != wantCause[i] {
			t.Errorf("gap %d: net %.0f ms, cause %s, want %.0f, %s (%+v)", i, gaps[i].NetMs, gaps[i].Cause, w, wantCause[i], gaps[i])
		}
	}
	if got := g.longest(key, at(0), at(530)); got != 200*time.Millisecond {
		t.Errorf("longest %v, want 200ms", got)
	}
	if got := g.longestNet(key, at(0), at(530)); got != 150*time.Millisecond {
		t.Errorf("longest net %v, want 150ms", got)
	}
}
