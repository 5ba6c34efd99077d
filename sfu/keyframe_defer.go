package sfu

import "time"

// A key frame request inside keyframeInterval of the last one for its
// layer is not dropped but asked again when the interval ends, unless a
// key frame arrived meanwhile. Dropping it cost a subscriber a whole
// interval more: a down-track whose first frames were dropped before its
// connection was up (downtrack_unsent.go) asks again just after another
// subscriber's (or a trunk's) request; its request went nowhere, and its
// own next one came keyframeInterval later. A moved participant's new
// video then reached a subscriber 0.4-0.5 s late, after its old tracks had
// stopped (a drain trial's timeline, docs/survival.md). At most one request
// per layer waits, so the rate is still one per interval.

// deferKeyframeLocked arranges for layer's request to be asked again in
// wait, unless one is already waiting. Called with r.mu held.
func (r *Receiver) deferKeyframeLocked(layer int, wait time.Duration, now time.Time) {
	if r.kfLater[layer] != nil || r.closed.Load() {
		return
	}
	asked := now.UnixNano()
	r.kfLater[layer] = time.AfterFunc(wait, func() { r.deferredKeyframe(layer, asked) })
}

// deferredKeyframe asks for the key frame a throttled request wanted,
// unless one arrived since it was made (its requester took that one).
func (r *Receiver) deferredKeyframe(layer int, asked int64) {
	r.mu.Lock()
	r.kfLater[layer] = nil
	r.mu.Unlock()
	if r.closed.Load() || r.keyframeSince(layer, asked) {
		return
	}
	r.requestKeyframe(layer, time.Now())
}

// keyframeSince reports whether a key frame of layer arrived at or after
// the unix-nanosecond time at.
func (r *Receiver) keyframeSince(layer int, at int64) bool {
	if layer >= len(r.layers) {
		return false
	}
	return r.layers[layer].replay.kfAt.Load() >= at
}

// stopDeferredLocked cancels the waiting requests (the receiver closes).
// Called with r.mu held.
func (r *Receiver) stopDeferredLocked() {
	for i, t := range r.kfLater {
		if t != nil {
			t.Stop()
			r.kfLater[i] = nil
		}
	}
}
