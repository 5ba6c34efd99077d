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
