package browsertest

import (
	"strings"
	"testing"
	"time"
)

func TestSummarizeAndProblems(t *testing.T) {
	t0 := time.Unix(1000, 0)
	snap := func(ms int, frames, audio int64, w int, frozen float64) Stats {
		return Stats{At: t0.Add(time.Duration(ms) * time.Millisecond), Subscribed: []Inbound{
			{Name: "bob", Kind: "video", FramesDecoded: frames, FrameWidth: w, Layer: map[bool]string{true: "large", false: "small"}[w > 320], TotalFreezesDuration: frozen},
			{Name: "bob", Kind: "audio", BytesReceived: audio},
		}}
	}
	// 10 s: frames stop from 2 s to 5.5 s, audio keeps coming.
	snaps := []Stats{snap(0, 0, 0, 320, 0), snap(1000, 20, 3500, 320, 0), snap(2000, 40, 7000, 640, 0)}
	for ms := 2500; ms <= 5500; ms += 500 {
		snaps = append(snaps, snap(ms, 40, int64(3.5*float64(ms)), 640, 0))
	}
	snaps = append(snaps, snap(6000, 50, 21000, 640, 3.5), snap(10000, 130, 35000, 640, 3.5))
	w := Summarize("bob", snaps)
	if w.Seconds != 10 || w.Frames != 130 || w.FPS != 13 || w.LongestStall != 3500*time.Millisecond || w.FrozenSeconds != 3.5 ||
		w.AudioBytes != 35000 || w.LongestAudioStall != 0 || w.MinWidth != 320 || w.MaxWidth != 640 ||
		strings.Join(w.Layers, ",") != "small,large" {
		t.Fatalf("summary: %s", w)
	}
	p := w.Problems(Watchable())
	// The stall and the frozen time; not the audio: bytes came across the
	// 4 s between the last snapshots, and a slow snapshot invents no stall.
	if len(p) != 2 {
		t.Fatalf("problems %q", p)
	}
	if p := Summarize("bob", snaps[:3]).Problems(Watchable()); len(p) != 0 {
		t.Fatalf("a smooth window has problems %q", p)
	}
}
