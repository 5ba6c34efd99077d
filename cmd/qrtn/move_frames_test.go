package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// drainFrameGapLimit is the longest interval between two video frames a
// page may show across a drain (qrtn-frames.js): a gapless move shows
// frames at the publisher's pace (67 ms at 15 fps); the margin is for a
// busy machine, whose renderer and decoder stall by themselves.
const drainFrameGapLimit = 250.0

// pageNow is the page's clock (epoch ms), which the frame times use.
func pageNow(t *testing.T, p *browsertest.Page) float64 {
	t.Helper()
	var now float64
	if err := p.Eval(context.Background(), `Date.now()`, &now); err != nil {
		t.Fatal(err)
	}
	return now
}

// framedMove waits until the page's nth recovery of kind has its frame
// gap (qrtn-frames.js adds it a second after the recovery ended).
func framedMove(t *testing.T, p *browsertest.Page, who, kind string, n int) browsertest.Reconnect {
	t.Helper()
	s, err := p.WaitStats(context.Background(), 20*time.Second, fmt.Sprintf("%s's %s %d with its frame gap", who, kind, n+1), func(s browsertest.Stats) bool {
		r := s.ReconnectsOf(kind)
		return len(r) > n && r[n].Framed()
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.ReconnectsOf(kind)[n]
}

// drainFrameGaps checks the video a person saw across a drain that
// began at from (page clock of each page): the pages that moved (their
// recovery's frame gap) and the page that stayed, watching a participant
// move (its longest interval between frames of that participant).
func drainFrameGaps(t *testing.T, moved map[string]*browsertest.Page, moves map[string]int, stayed *browsertest.Page, stayer, watched string, from float64) {
	t.Helper()
	for who, p := range moved {
		videoState(t, p, who)
		time.Sleep(500 * time.Millisecond)
		videoState(t, p, who)
		r := framedMove(t, p, who, "migrate", moves[who])
		t.Logf("drain, %s moved: %s", who, r)
		if r.FrameGapMs == nil {
			t.Errorf("%s: no video frame measured across its move (%s)", who, r)
		} else if *r.FrameGapMs >= drainFrameGapLimit {
			t.Errorf("%s saw a %.0f ms gap between video frames across the drain (%v), want < %.0f ms", who, *r.FrameGapMs, r.FrameGaps, drainFrameGapLimit)
		}
	}
	videoState(t, stayed, stayer)
	to := pageNow(t, stayed)
	s, err := stayed.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gap := s.Frames.Longest(watched, from, to)
	// The control: the same page, the window of the same length before the
	// drain, when nobody moved (what the busy machine does by itself).
	t.Logf("drain, control: %s's longest between frames of %s in the %.1f s before the drain: %.0f ms", stayer, watched, (to-from)/1000, s.Frames.Longest(watched, from-(to-from), from))
	t.Logf("drain, %s stayed: longest between frames of %s shown %.0f ms over %.1f s (frames shown %v)", stayer, watched, gap, (to-from)/1000, s.Frames.Shown)
	for _, g := range s.Frames.Gaps {
		if g.Ms >= drainFrameGapLimit {
			t.Logf("%s: %.0f ms between frames of %s, ending %.0f ms after the drain began", stayer, g.Ms, g.Name, g.At-from)
		}
	}
	if len(s.Frames.Shown) == 0 {
		t.Errorf("%s rendered no remote video frame: the instrument did not run", stayer)
	}
	if gap >= drainFrameGapLimit {
		t.Errorf("%s saw a %.0f ms gap between %s's video frames across the drain, want < %.0f ms", stayer, gap, watched, drainFrameGapLimit)
	}
}

// videoState logs what each <video> of a page shows now: playing or not,
// frames the element presented, and its tracks.
func videoState(t *testing.T, p *browsertest.Page, who string) {
	t.Helper()
	var out any
	err := p.Eval(context.Background(), `[...document.querySelectorAll('video')].map((v) => ({
		swap: v.closest('.tile')?.dataset.swap, paused: v.paused, ended: v.ended, ready: v.readyState, time: +v.currentTime.toFixed(2),
		presented: v.getVideoPlaybackQuality?.().totalVideoFrames,
		tracks: v.srcObject?.getTracks?.().map((t) => t.kind + ':' + t.readyState + (t.muted ? ':muted' : '')),
	}))`, &out)
	if err != nil {
		t.Logf("%s videos: %v", who, err)
		return
	}
	t.Logf("%s videos: %v", who, out)
}
