package sfu

import (
	"slices"

	"github.com/pion/webrtc/v4"
)

// The temporal layers a relayed track's subscribers want, told upstream
// (a far node's side of temporal layers across trunks; the trunk cuts
// them with TemporalCut, svc_cut.go).
//
// A track fed by another node (a remote participant's, whose Upstream is
// a trunk) asks, per layer, for the highest temporal layer any of its
// down-tracks gets or moves to: the step the selector chose for it (after
// its bandwidth and frame-rate preference), or, while it steps down one
// layer at a time, the higher one it still forwards, so that the trunk
// never cuts below what a subscriber forwards. A down-track paused by the
// selector but keeping the smallest layer running (starved) asks for
// temporal layer 0; a sink for every one.
//
// The selector must not then see the cut as the stream's frame rate: a
// subscriber capped at 5 fps would find every step at 5 fps, choose the
// top one, and so ask for every temporal layer again, which would lift its
// cap, and so on. So the meter (temporalMeter) stops measuring the steps
// of a row that are asked not to arrive and keeps their last figures, and
// the row's cost is scaled up from the steps that do arrive (ladderLocked):
// the ladder is the whole stream's, as if nothing were cut. A subscriber
// whose selector goes up a step switches at the next switch-up point of
// what arrives; the upstream node switches at one of its own, and every
// picture in between is of the layers it already had, so nothing it
// forwards lacks a reference.

// TemporalUpstream is an Upstream that can carry fewer temporal layers
// of each layer (a trunk). tl is by layer the highest temporal layer
// wanted, 0 to AllTemporal (every one).
type TemporalUpstream interface {
	SetTemporalWanted(tl []int)
}

// tickTemporal tells the upstream the temporal layers wanted when they
// changed (from tick, without Receiver.mu).
func (r *Receiver) tickTemporal() {
	tu, ok := r.up.(TemporalUpstream)
	if !ok || r.kind != webrtc.RTPCodecTypeVideo || r.owner == nil || !r.owner.remote || r.closed.Load() ||
		r.temporalSteps() < 2 {
		return
	}
	tl := r.temporalWanted()
	r.mu.Lock()
	changed := !slices.Equal(tl, r.tlWanted)
	if changed {
		r.tlWanted = tl
		for row := range svcLayers {
			t := AllTemporal
			if row < len(tl) {
				t = tl[row]
			}
			r.tm.uncarried[row] = max(svcTemporal-1-t, 0)
		}
	}
	r.mu.Unlock()
	if changed {
		tu.SetTemporalWanted(tl)
	}
}

// temporalWanted is, by layer, the highest temporal layer a down-track or
// sink of the receiver wants (AllTemporal for a layer nobody watches).
func (r *Receiver) temporalWanted() []int {
	out := make([]int, len(r.layers))
	for i := range out {
		out[i] = -1
	}
	for _, d := range *r.downs.Load() {
		t := d.temporalWant()
		for _, l := range d.watchedLayers() {
			if l >= 0 && l < len(out) {
				out[l] = max(out[l], t)
			}
		}
	}
	for _, s := range *r.sinks.Load() {
		if s.layer >= 0 && s.layer < len(out) {
			out[s.layer] = AllTemporal
		}
	}
	for i, t := range out {
		if t < 0 {
			out[i] = AllTemporal
		}
	}
	return out
}

// temporalWant is the highest temporal layer the down-track forwards or
// moves to: 0 while it is paused or muted (a starved one keeps the
// smallest layer running).
func (d *DownTrack) temporalWant() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.muted || d.decided < 0 {
		return 0
	}
	t := max(temporalLayer(d.decidedT), d.svc.temporal.target, d.svc.temporal.current)
	return min(t, AllTemporal)
}
