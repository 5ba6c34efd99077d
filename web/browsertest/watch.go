package browsertest

import (
	"context"
	"fmt"
	"time"
)

// Watched is what a page received of one participant over a window: what
// a person looking at that tile would have seen and heard.
type Watched struct {
	Participant string
	Seconds     float64 // the window, by the stats' own timestamps
	Samples     int     // stats snapshots taken in the window

	Frames int64   // video frames decoded in the window
	FPS    float64 // Frames / Seconds
	// Freezes and FrozenSeconds are Chromium's own freeze counters over the
	// window (a frame later than max(3× the average interval, average + 150 ms)).
	Freezes       int64
	FrozenSeconds float64
	// LongestStall is the longest span with no new decoded frame, measured
	// between snapshots (so to within PollInterval): the freeze a viewer
	// cannot miss, and one that evaluation delays do not invent.
	LongestStall time.Duration

	AudioBytes        int64
	LongestAudioStall time.Duration // longest span with no new audio bytes

	MinWidth, MaxWidth int      // decoded widths seen (0 before the first frame)
	Layers             []string // the node's layer announcements seen, in order, without repeats
	Lost, Received     int64    // video packets in the window

	// Snaps are the snapshots the summary was made of (for Timeline).
	Snaps []Stats
}

// String is a one-line summary for logs.
func (w Watched) String() string {
	return fmt.Sprintf("%s over %.1f s (%d samples): video %.1f fps, longest stall %v, Chromium freezes %d (%.2f s), width %d–%d, layers %v, %d of %d packets lost; audio %d B, longest stall %v",
		w.Participant, w.Seconds, w.Samples, w.FPS, w.LongestStall.Round(10*time.Millisecond), w.Freezes, w.FrozenSeconds,
		w.MinWidth, w.MaxWidth, w.Layers, w.Lost, w.Lost+w.Received, w.AudioBytes, w.LongestAudioStall.Round(10*time.Millisecond))
}

// Watch samples the page's stats every PollInterval for d and returns what
// it received of participant (by id or name) over that window. A snapshot
// that fails is skipped; at least two must succeed.
func (p *Page) Watch(ctx context.Context, participant string, d time.Duration) (Watched, error) {
	var snaps []Stats
	end := time.Now().Add(d)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		if s, err := p.statsOnce(ctx); err == nil {
			snaps = append(snaps, s)
		} else {
			lastErr = err
		}
		if !time.Now().Before(end) {
			break
		}
		select {
		case <-ctx.Done():
			return Watched{}, ctx.Err()
		case <-tick.C:
		}
	}
	if len(snaps) < 2 {
		return Watched{}, fmt.Errorf("%s: watching %s: %d snapshots in %v: %v", p.url, participant, len(snaps), d, lastErr)
	}
	w := Summarize(participant, snaps)
	w.Snaps = snaps
	return w, nil
}

// Summarize computes what snaps (in time order, stamped by Stats) show of a
// participant's media.
func Summarize(participant string, snaps []Stats) Watched {
	w := Watched{Participant: participant, Samples: len(snaps)}
	if len(snaps) == 0 {
		return w
	}
	first, last := snaps[0], snaps[len(snaps)-1]
	w.Seconds = last.At.Sub(first.At).Seconds()
	v0, _ := first.Track(participant, "video")
	v1, _ := last.Track(participant, "video")
	a0, _ := first.Track(participant, "audio")
	a1, _ := last.Track(participant, "audio")
	w.Frames = v1.FramesDecoded - v0.FramesDecoded
	if w.Seconds > 0 {
		w.FPS = float64(w.Frames) / w.Seconds
	}
	w.Freezes = v1.FreezeCount - v0.FreezeCount
	w.FrozenSeconds = v1.TotalFreezesDuration - v0.TotalFreezesDuration
	w.AudioBytes = a1.BytesReceived - a0.BytesReceived
	w.Lost = v1.PacketsLost - v0.PacketsLost
	w.Received = v1.PacketsReceived - v0.PacketsReceived

	lastFrame, lastAudio := first.At, first.At
	prevV, prevA := v0, a0
	for _, s := range snaps {
		v, _ := s.Track(participant, "video")
		a, _ := s.Track(participant, "audio")
		if v.FramesDecoded > prevV.FramesDecoded {
			lastFrame = s.At
		}
		if a.BytesReceived > prevA.BytesReceived {
			lastAudio = s.At
		}
		w.LongestStall = max(w.LongestStall, s.At.Sub(lastFrame))
		w.LongestAudioStall = max(w.LongestAudioStall, s.At.Sub(lastAudio))
		prevV, prevA = v, a
		if v.FrameWidth > 0 {
			if w.MinWidth == 0 || v.FrameWidth < w.MinWidth {
				w.MinWidth = v.FrameWidth
			}
			w.MaxWidth = max(w.MaxWidth, v.FrameWidth)
		}
		if v.Layer != "" && (len(w.Layers) == 0 || w.Layers[len(w.Layers)-1] != v.Layer) {
			w.Layers = append(w.Layers, v.Layer)
		}
	}
	return w
}

// Expect are the limits past which a person watching a tile notices that
// something is wrong. Each limit is off at its zero value.
type Expect struct {
	MinFPS       float64       // the average frame rate over the window
	MaxStall     time.Duration // the longest span without a new frame
	MaxFrozen    float64       // the fraction of the window Chromium counted frozen
	MinAudioRate float64       // audio bytes per second
	MaxAudioGap  time.Duration // the longest span without audio
}

// Watchable is what a person accepts from a call on a busy machine: at
// least 8 frames a second on average, no picture stuck for 2 s, at most a
// quarter of the time frozen, and sound that keeps coming (Opus brings
// ~3.5 kB/s; 1 kB/s and no gap of 2 s). A broken path or repair misses these
// by far: it decodes next to nothing, or freezes for most of the window.
func Watchable() Expect {
	return Expect{MinFPS: 8, MaxStall: 2 * time.Second, MaxFrozen: 0.25, MinAudioRate: 1000, MaxAudioGap: 2 * time.Second}
}

// Problems lists what a person would notice in w under e; none means fine.
func (w Watched) Problems(e Expect) []string {
	var out []string
	if e.MinFPS > 0 && w.FPS < e.MinFPS {
		out = append(out, fmt.Sprintf("%s's video at %.1f fps (want ≥ %.0f)", w.Participant, w.FPS, e.MinFPS))
	}
	if e.MaxStall > 0 && w.LongestStall > e.MaxStall {
		out = append(out, fmt.Sprintf("%s's video stopped for %v (want ≤ %v)", w.Participant, w.LongestStall.Round(10*time.Millisecond), e.MaxStall))
	}
	if e.MaxFrozen > 0 && w.Seconds > 0 && w.FrozenSeconds > e.MaxFrozen*w.Seconds {
		out = append(out, fmt.Sprintf("%s's video frozen %.2f s of %.1f s (want ≤ %.0f%%)", w.Participant, w.FrozenSeconds, w.Seconds, 100*e.MaxFrozen))
	}
	if e.MinAudioRate > 0 && w.Seconds > 0 && float64(w.AudioBytes) < e.MinAudioRate*w.Seconds {
		out = append(out, fmt.Sprintf("%s's audio: %d bytes in %.1f s (want ≥ %.0f B/s)", w.Participant, w.AudioBytes, w.Seconds, e.MinAudioRate))
	}
	if e.MaxAudioGap > 0 && w.LongestAudioStall > e.MaxAudioGap {
		out = append(out, fmt.Sprintf("%s's audio stopped for %v (want ≤ %v)", w.Participant, w.LongestAudioStall.Round(10*time.Millisecond), e.MaxAudioGap))
	}
	return out
}
