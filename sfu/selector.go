package sfu

import (
	"sort"
	"time"
)

// allocTrack is one subscribed video track as the layer selector sees it.
type allocTrack struct {
	maxLayer int       // the highest layer the view preference asks for
	bitrates []int     // bits/s per layer, small first; <= 0 marks a layer unavailable
	current  int       // the selector's previous decision; -1 paused
	main     bool      // shown large: served before thumbnails
	lastDown time.Time // when the selector last lowered this track
}

// selectorParams tunes the hysteresis of the layer selector.
type selectorParams struct {
	// upMargin: a track goes up to a layer only when the estimate covers the
	// layer's bitrate times upMargin; it stays on its layer as long as the
	// estimate covers the plain bitrate. The gap between the two is what
	// keeps an estimate hovering at a layer's bitrate from flapping.
	upMargin float64
	// upHold: after a track was lowered it is not raised again for this long.
	upHold time.Duration
}

// defaultSelectorParams are used by rooms.
var defaultSelectorParams = selectorParams{upMargin: 1.25, upHold: 6 * time.Second}

// selectLayers decides a layer (or -1 for paused) for every track within
// budget bits/s. Every track first gets its smallest available layer, main
// views first, as long as the budget lasts; then main views, then
// thumbnails, are raised towards their preference. Lowering is immediate,
// raising needs the margin and the hold of p, so the decision recovers
// upwards when bandwidth returns without thrashing around a threshold.
func selectLayers(budget int, tracks []allocTrack, now time.Time, p selectorParams) []int {
	order := make([]int, len(tracks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return tracks[order[a]].main && !tracks[order[b]].main })

	out := make([]int, len(tracks))
	spent := make([]int, len(tracks))
	remaining := budget
	for _, i := range order {
		out[i] = -1
		t := &tracks[i]
		for l := 0; l <= t.maxLayer && l < len(t.bitrates); l++ {
			if t.bitrates[l] <= 0 {
				continue
			}
			if fits(t, l, remaining, 0, now, p) {
				out[i], spent[i] = l, t.bitrates[l]
				remaining -= t.bitrates[l]
			}
			break
		}
	}
	for _, i := range order {
		t := &tracks[i]
		if out[i] < 0 {
			continue
		}
		for l := out[i] + 1; l <= t.maxLayer && l < len(t.bitrates); l++ {
			if t.bitrates[l] <= 0 {
				continue
			}
			if !fits(t, l, remaining, spent[i], now, p) {
				break
			}
			remaining += spent[i] - t.bitrates[l]
			out[i], spent[i] = l, t.bitrates[l]
		}
	}
	return out
}

// fits reports whether track t may take layer l given the remaining budget
// and what the track already holds.
func fits(t *allocTrack, l, remaining, held int, now time.Time, p selectorParams) bool {
	need := float64(t.bitrates[l])
	if l > t.current {
		if !t.lastDown.IsZero() && now.Sub(t.lastDown) < p.upHold {
			return false
		}
		need *= p.upMargin
	}
	return float64(remaining+held) >= need
}
