package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Layer availability timing.
const (
	// layerIdle: a layer without packets for this long is not arriving.
	layerIdle = 1500 * time.Millisecond
	// layerGrace: a layer just published or resumed is trusted to start
	// within this long.
	layerGrace = 3 * time.Second
	// layerFailBackoff: a layer that was wanted and never came (the
	// publisher's own uplink cannot carry it) is not offered again for this
	// long, so selection and dynacast do not cycle resume/pause on it.
	layerFailBackoff = 20 * time.Second
	// remoteFailBackoff replaces it for a remote participant's track (fed by
	// a trunk): a layer missing there says a trunk stream stalled, which the
	// trunk repairs or re-routes within seconds, not that an encoder gave
	// the layer up. A long back-off would keep far subscribers on a lower
	// layer (or without video) long after a trunk outage ended.
	remoteFailBackoff = 3 * time.Second
)

// tick measures each layer's bitrate and runs dynacast. It is called by the
// room loop after the subscribers' layer selection, so the targets it reads
// are fresh.
func (r *Receiver) tick(now time.Time, pauseAfter time.Duration) {
	r.mu.Lock()
	for _, l := range r.layers {
		r.measureLocked(l, now)
	}
	if r.svc {
		r.measureSVCLocked(now)
	}
	if r.temporalSteps() > 1 {
		r.tm.measure(now)
	}
	var wanted []bool
	if r.kind == webrtc.RTPCodecTypeVideo && r.up != nil && !r.closed.Load() {
		wanted = r.dynacastLocked(now, pauseAfter)
	} else if r.up != nil && r.owner != nil && r.owner.remote && !r.closed.Load() {
		wanted = r.remoteAudioLocked(now, pauseAfter) // subscription.go
	}
	r.mu.Unlock()
	if wanted != nil {
		r.up.SetLayersWanted(wanted)
	}
	r.tickTemporal()
}

// rateWindow is the shortest interval a layer bitrate is measured over:
// frames arrive in bursts, and ticks are irregular (kicks).
const rateWindow = time.Second

// measureLocked updates a layer's bitrate: a moving average of one-second
// windows, reset when the layer stops so that a resumed layer is costed
// at its nominal rate until measured again.
func (r *Receiver) measureLocked(l *recvLayer, now time.Time) {
	b := l.bytes.Load()
	if !r.arriving(l, now) {
		l.bitrate, l.rateAt = 0, time.Time{}
		return
	}
	if l.rateAt.IsZero() {
		l.rateBytes, l.rateAt = b, now
		return
	}
	dt := now.Sub(l.rateAt)
	if dt < rateWindow {
		return
	}
	inst := int(float64(b-l.rateBytes) * 8 / dt.Seconds())
	if l.bitrate == 0 {
		l.bitrate = inst
	} else {
		l.bitrate = (l.bitrate + inst) / 2
	}
	l.rateBytes, l.rateAt = b, now
}

// dynacastLocked pauses layers unwatched for pauseAfter and resumes watched
// ones; it returns the new wanted set when it changed. A layer is watched
// when a down-track forwards it, switches to it or starves for it, or a
// sink carries it, and also when a subscriber's view preference asks for
// it, whatever its estimate allows now (as LiveKit's dynacast follows the
// subscribed quality): an upgrade then finds the layer running and
// measured, and a preference raised by hand resumes it at once. Pausing
// a layer the publisher dropped (as this did before) kept it off for the
// whole back-off after the publisher could send it again.
//
// A layer that was wanted and never came is marked failed (not offered to
// the selector for layerFailBackoff) only while another layer of the track
// arrives: that is a publisher whose encoder dropped the layer (its uplink
// cannot carry it). When no layer arrives the whole track is stalled (the
// publisher's network, or this node starved of CPU), and nothing is learnt
// about any one layer.
func (r *Receiver) dynacastLocked(now time.Time, pauseAfter time.Duration) []bool {
	watched := make([]bool, len(r.layers))
	asked := make([]bool, len(r.layers))
	for _, d := range *r.downs.Load() {
		for _, l := range d.watchedLayers() {
			if l >= 0 && l < len(watched) {
				watched[l] = true
			}
		}
		if l := d.askedLayer(); l >= 0 && l < len(asked) {
			asked[l] = true
		}
	}
	for _, s := range *r.sinks.Load() {
		if s.svc != nil {
			watched[0] = true // the one stream of every spatial layer
		} else {
			watched[s.layer] = true
		}
	}
	alive := r.aliveLocked(now)
	changed := false
	for i, l := range r.layers {
		// A layer somebody's preference asks for stays active even when
		// it failed (does not come while another layer does): a browser
		// drops a layer while its own estimate is low and sends it again
		// when the estimate allows, unless the layer was paused. Failure
		// only keeps the selector from waiting for it (layerBitrates).
		if asked[i] && !l.paused && alive && !r.arriving(l, now) && now.Sub(l.resumedAt) > layerGrace && !now.Before(l.failedUntil) {
			l.failedUntil = now.Add(r.failBackoff())
		}
		switch {
		case watched[i] || asked[i]:
			l.unwantedSince = time.Time{}
			if l.paused {
				l.paused, l.resumedAt, changed = false, now, true
			}
		case l.paused:
		case l.unwantedSince.IsZero():
			l.unwantedSince = now
		case now.Sub(l.unwantedSince) >= pauseAfter:
			if alive && !r.arriving(l, now) && now.Sub(l.resumedAt) > layerGrace {
				l.failedUntil = now.Add(r.failBackoff())
			}
			l.paused, changed = true, true
		}
	}
	if !changed {
		return nil
	}
	out := make([]bool, len(r.layers))
	for i, l := range r.layers {
		out[i] = !l.paused
	}
	return out
}

// retryLayers clears the failure back-off of layers lo..hi, so that they
// are resumed and offered again at the next tick, with a fresh grace.
func (r *Receiver) retryLayers(lo, hi int, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := max(lo, 0); i <= hi && i < len(r.layers); i++ {
		if l := r.layers[i]; now.Before(l.failedUntil) {
			l.failedUntil = time.Time{}
			if !l.paused {
				l.resumedAt = now
			}
		}
	}
}

// failBackoff is how long a layer that was wanted and never came is not
// offered again.
func (r *Receiver) failBackoff() time.Duration {
	if r.owner != nil && r.owner.remote {
		return remoteFailBackoff
	}
	return layerFailBackoff
}

func (r *Receiver) arriving(l *recvLayer, now time.Time) bool {
	last := l.lastAt.Load()
	return last != 0 && now.Sub(time.Unix(0, last)) < layerIdle
}

// aliveLocked reports whether any layer of the track arrives.
func (r *Receiver) aliveLocked(now time.Time) bool {
	for _, l := range r.layers {
		if r.arriving(l, now) {
			return true
		}
	}
	return false
}

// layerBitrates are the costs the layer selector weighs, small first; 0
// marks a layer that cannot be had now. A paused layer costs its nominal
// rate: selecting it resumes it (but a layer that never arrived while
// another does cannot be had until it comes). A layer that does not arrive while
// another does cannot be had; when none arrives (a stall of the whole
// track) every layer keeps its nominal cost, so that no subscriber is
// moved or paused for it and dynacast keeps what they watch.
func (r *Receiver) layerBitrates(now time.Time) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc {
		return r.svcBitratesLocked(now)
	}
	alive := r.aliveLocked(now)
	out := make([]int, len(r.layers))
	for i, l := range r.layers {
		switch {
		case r.arriving(l, now) && l.bitrate > 0:
			out[i] = max(l.bitrate, 30_000)
		case r.arriving(l, now):
			out[i] = r.nominal[i]
		case now.Before(l.failedUntil):
		case alive && l.lastAt.Load() == 0:
			// A layer that never came while another does is not there
			// yet: a new publisher's browser adds its larger layers as its
			// bandwidth estimate grows, and a trunk carries only what the
			// origin has (its publisher paused or dropped the layer).
			// Waiting out the grace for it left the subscribers of a new
			// track without video for seconds (a participant who moved,
			// or subscribers who did: docs/survival.md, round 5); they
			// start on what arrives, dynacast still asks for the layer,
			// and it counts once it arrives.
		case l.paused || now.Sub(l.resumedAt) < layerGrace || !alive:
			out[i] = r.nominal[i]
		}
	}
	return out
}
