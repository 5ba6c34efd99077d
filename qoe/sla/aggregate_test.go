package sla

import (
	"math"
	"testing"

	"github.com/qrtn/qrtn/qoe"
)

const min0 = 1_700_000_040_000 // a whole minute, mid-hour

func TestAggregate(t *testing.T) {
	ann := qoe.Call{Session: "s1", Room: "r", Participant: "ann", Node: "eu-1", Region: "eu", JoinedAt: min0, LeftAt: min0 + 10*minuteMs - 1, JoinMs: 800}
	bob := qoe.Call{Session: "s2", Room: "r", Participant: "bob", Node: "us-1", Region: "us", JoinedAt: min0, JoinMs: 6000}
	in := Input{
		Calls: []qoe.Call{ann, bob},
		Samples: []qoe.TrackSample{
			// bob receives ann for 10 minutes, ann receives bob for 5.
			{Session: "s2", Room: "r", Publisher: "ann", Start: min0, End: min0 + 10*minuteMs - 1, E2EMs: 300, E2EEstimate: true},
			{Session: "s1", Room: "r", Publisher: "bob", Start: min0, End: min0 + 5*minuteMs - 1, E2EMs: 100},
		},
		Stalls: []qoe.Stall{
			// bob: two stalls in minute 2 (one audio), one spanning minutes 6 and 7.
			{Session: "s2", Room: "r", Publisher: "ann", Kind: "video", At: min0 + 2*minuteMs + 1000, DurationMs: 700},
			{Session: "s2", Room: "r", Publisher: "ann", Kind: "audio", At: min0 + 2*minuteMs + 5000, DurationMs: 300},
			{Session: "s2", Room: "r", Publisher: "ann", Kind: "video", At: min0 + 7*minuteMs - 500, DurationMs: 1000},
			{Session: "unknown", Kind: "video", At: min0, DurationMs: 1000}, // no call: ignored
		},
		Now: min0 + 10*minuteMs - 1,
	}
	r := Aggregate(in)
	check := func(what string, f Figures, minutes, stalled, audio, video int) {
		t.Helper()
		if f.Minutes != minutes || f.StalledMinutes != stalled || f.AudioStalls != audio || f.VideoStalls != video {
			t.Errorf("%s: %d minutes, %d stalled, %d audio and %d video stalls; want %d, %d, %d, %d",
				what, f.Minutes, f.StalledMinutes, f.AudioStalls, f.VideoStalls, minutes, stalled, audio, video)
		}
		want := 1.0
		if minutes > 0 {
			want = 1 - float64(stalled)/float64(minutes)
		}
		if math.Abs(f.Compliance-want) > 1e-9 {
			t.Errorf("%s: compliance %v, want %v", what, f.Compliance, want)
		}
	}
	check("ann", r.Calls["s1"], 10, 0, 0, 0)
	check("bob", r.Calls["s2"], 10, 3, 1, 2)
	check("total", r.Total, 20, 3, 1, 2)
	check("node us-1", r.Nodes["us-1"], 10, 3, 1, 2)
	check("node eu-1", r.Nodes["eu-1"], 10, 0, 0, 0)
	check("eu→us", r.RegionPairs["eu→us"], 10, 3, 1, 2)
	check("us→eu", r.RegionPairs["us→eu"], 5, 0, 0, 0)
	if len(r.Hours) != 1 {
		t.Fatalf("hours %v", r.Hours)
	}
	for _, f := range r.Hours {
		check("hour", f, 20, 3, 1, 2)
	}
	if f := r.Total; f.JoinP50Ms != 800 || f.JoinP95Ms != 6000 || f.JoinUnder5 != 0.5 || f.Calls != 2 {
		t.Errorf("join: %+v", f)
	}
	if f := r.RegionPairs["eu→us"]; f.E2EP95Ms != 300 || !f.Estimated {
		t.Errorf("eu→us latency %+v", f)
	}
	if f := r.RegionPairs["us→eu"]; f.E2EP95Ms != 100 || f.Estimated {
		t.Errorf("us→eu latency %+v", f)
	}
	if f := r.Calls["s2"]; f.StallMs != 2000 {
		t.Errorf("bob stalled %d ms", f.StallMs)
	}
}

// TestAggregateOpenCall: a call in progress counts up to Now; a call with
// no minutes is compliant.
func TestAggregateOpenCall(t *testing.T) {
	c := qoe.Call{Session: "s", Node: "n", JoinedAt: min0 + 30_000}
	r := Aggregate(Input{Calls: []qoe.Call{c}, Now: min0 + 3*minuteMs + 10})
	if f := r.Calls["s"]; f.Minutes != 4 || f.Compliance != 1 {
		t.Fatalf("%+v", f)
	}
	if f := Aggregate(Input{}).Total; f.Compliance != 1 || f.Minutes != 0 {
		t.Fatalf("empty: %+v", f)
	}
}

func TestMinutes(t *testing.T) {
	m := NewMinutes(min0 + 30_000) // half-way into minute 0
	if n, s := m.Advance(min0+50_000, false); n != 0 || s != 0 {
		t.Fatalf("within the first minute: %d %d", n, s)
	}
	m.Stall(min0+minuteMs+59_500, 1000) // minutes 1 and 2
	if n, s := m.Advance(min0+2*minuteMs+10, false); n != 2 || s != 1 {
		t.Fatalf("after two minutes: %d minutes, %d stalled", n, s)
	}
	if n, s := m.Advance(min0+2*minuteMs+20_000, true); n != 1 || s != 1 {
		t.Fatalf("final: %d minutes, %d stalled", n, s)
	}
	if n, _ := m.Advance(min0+5*minuteMs, true); n != 3 {
		t.Fatalf("later: %d", n)
	}
}

func TestEstimateE2E(t *testing.T) {
	if got := EstimateE2E(20, []float64{160, 100}, 50, 10); got != 10+80+50+50+5 {
		t.Fatalf("%v", got)
	}
}
