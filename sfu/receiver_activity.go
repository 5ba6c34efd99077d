package sfu

import "time"

// LastPacket is when any layer of the receiver last received a packet
// (zero: never). The trunk reads it to tell whether a participant that
// moved to another node still sends here, and whether the tracks it now
// has there deliver.
func (r *Receiver) LastPacket() time.Time {
	var last int64
	for _, l := range r.layers {
		last = max(last, l.lastAt.Load())
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(0, last)
}

// Forwarding lists the subscribers (participant IDs) this track's media
// reaches: their down-tracks have sent it (video: from a key frame on).
// A trunk moving a participant between origins keeps the old track until
// the new one reaches the same subscribers. It takes no lock, so a
// down-track stuck in a write never holds up the caller.
func (r *Receiver) Forwarding() map[string]bool {
	out := map[string]bool{}
	for _, d := range *r.downs.Load() {
		if d.sub != nil && d.live.Load() {
			out[d.sub.p.id] = true
		}
	}
	return out
}
