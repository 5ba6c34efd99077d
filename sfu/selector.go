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
	screen   bool      // a screen share: served before cameras
	hold     holdState // back-off against going up after a bandwidth downgrade
}

// selectorParams tunes the hysteresis of the layer selector.
type selectorParams struct {
	// upMargin: a track goes up to a layer only when the estimate covers the
	// layer's bitrate times upMargin; it stays on its layer as long as the
	// estimate covers the plain bitrate. The gap between the two is what
	// keeps an estimate hovering at a layer's bitrate from flapping.
	upMargin float64
	// upHold: after a bandwidth downgrade a track is not raised again for
	// this long; maxHold: the hold doubles, up to this, each time a track
	// that went up is pushed down again soon after (the estimate probed
	// too high), so a link that cannot carry a layer is not retried at the
	// base pace forever.
	upHold, maxHold time.Duration
	// pauseMain lets the selector pause a main view whose smallest layer
	// does not fit. Off: a main view keeps its smallest layer whatever the
	// estimate (thumbnails are paused first). A subscriber's estimate can
	// fall below the small layer for reasons the small layer would not
	// worsen (GCC's 0.85 × received rate after delay caused by a busy
	// node), and a paused video only comes back once GCC, fed by audio
	// alone, has grown back past it.
	pauseMain bool
}

// defaultSelectorParams are used by rooms.
var defaultSelectorParams = selectorParams{upMargin: 1.25, upHold: 2 * time.Second, maxHold: 16 * time.Second}

// selectLayers decides a layer (or -1 for paused) for every track within
// budget bits/s.
//
// The budget is a bandwidth estimate, and an estimate without evidence is a
// guess: the configured initial value, or one that measured layer costs
// (inflated by key frames) happen to exceed. So unless congested (the
// estimator lowered its estimate recently, on loss or rising delay), every
// track keeps the layer it has, up to its preference, and the budget only
// limits raising. When congested, every track first gets its smallest
// available layer, main views first, as long as the budget lasts (a main
// view gets it anyway unless p.pauseMain); then main views, then
// thumbnails, are raised towards their preference. Lowering is
// immediate, raising needs the margin and the hold of p.
func selectLayers(budget int, congested bool, tracks []allocTrack, now time.Time, p selectorParams) []int {
	order := make([]int, len(tracks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return allocRank(&tracks[order[a]]) < allocRank(&tracks[order[b]]) })

	out := make([]int, len(tracks))
	spent := make([]int, len(tracks))
	remaining := budget
	for _, i := range order {
		out[i] = -1
		t := &tracks[i]
		if keep := min(t.current, t.maxLayer); !congested && keep >= 0 && keep < len(t.bitrates) && t.bitrates[keep] > 0 {
			out[i], spent[i] = keep, t.bitrates[keep]
			remaining -= spent[i]
			continue
		}
		for l := 0; l <= t.maxLayer && l < len(t.bitrates); l++ {
			if t.bitrates[l] <= 0 {
				continue
			}
			if fits(t, l, remaining, 0, now, p) || (t.main && !p.pauseMain) {
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

// allocRank orders tracks for the budget: a screen share shown large
// first (its text must stay readable), then main views, then thumbnails.
func allocRank(t *allocTrack) int {
	switch {
	case t.main && t.screen:
		return 0
	case t.main:
		return 1
	}
	return 2
}

// fits reports whether track t may take layer l given the remaining budget
// and what the track already holds.
func fits(t *allocTrack, l, remaining, held int, now time.Time, p selectorParams) bool {
	need := float64(t.bitrates[l])
	if l > t.current {
		if t.hold.holding(now) {
			return false
		}
		need *= p.upMargin
	}
	return float64(remaining+held) >= need
}

// holdState is one track's back-off against going up again after a
// bandwidth downgrade. Time comes in as an argument.
type holdState struct {
	lastDown, lastUp time.Time
	hold             time.Duration
}

// lowered records a bandwidth downgrade. One that comes soon after the
// track went up doubles the hold; otherwise the hold is the base one.
func (h *holdState) lowered(now time.Time, p selectorParams) {
	if !h.lastUp.IsZero() && now.Sub(h.lastUp) < 2*max(h.hold, p.upHold) {
		h.hold = min(2*max(h.hold, p.upHold), p.maxHold)
	} else {
		h.hold = p.upHold
	}
	h.lastDown = now
}

// raised records that the track went up.
func (h *holdState) raised(now time.Time) { h.lastUp = now }

// holding reports whether the track may not go up yet.
func (h holdState) holding(now time.Time) bool {
	return !h.lastDown.IsZero() && now.Sub(h.lastDown) < h.hold
}
