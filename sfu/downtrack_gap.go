package sfu

import "time"

// A packet that never reached this node (a trunk gave up on it past its
// deadline, or the publisher's uplink lost it for good) cannot be resent:
// the subscriber's NACKs for it go unanswered, and a browser then waits for
// the frame it belongs to until its own timeout (WebRTC's receive stream
// asks for a key frame only after 3 s without a decodable frame) — a 3 s
// freeze for one lost packet. So a down-track remembers the oldest NACKed
// packet it never sent, and when that packet is still missing gapGiveUp
// later it asks the publisher for a key frame itself.

// gapGiveUp is how long a NACKed packet may stay missing before the
// down-track gives up on it: longer than the repairs that may still bring
// it (a meeting trunk hop gives up after 250 ms; a room crosses two), well
// under the browser's 3 s.
const gapGiveUp = 600 * time.Millisecond

// nackGap is the oldest NACKed packet the down-track never sent (under mu).
type nackGap struct {
	seq     uint16
	since   time.Time
	pending bool
}

// noteNACKLocked records seq, NACKed by the subscriber, when the
// down-track never sent it (it is not in the history) and no other gap is
// pending.
func (d *DownTrack) noteNACKLocked(seq uint16, now time.Time) {
	if d.gap.pending || d.hist == nil {
		return
	}
	if e := &d.hist[seq%histSize]; e.valid && e.seq == seq {
		return // sent: a resend (or its throttle) answers it
	}
	d.gap = nackGap{seq: seq, since: now, pending: true}
}

// gapKeyframeLocked reports the layer to ask a key frame of when the
// pending gap is still missing gapGiveUp after its NACK (-1: none). A gap
// the late packet filled is dropped.
func (d *DownTrack) gapKeyframeLocked(now time.Time) int {
	if !d.gap.pending {
		return -1
	}
	if e := &d.hist[d.gap.seq%histSize]; e.valid && e.seq == d.gap.seq {
		d.gap.pending = false // it came late and went out
		return -1
	}
	if now.Sub(d.gap.since) < gapGiveUp {
		return -1
	}
	d.gap.pending = false
	if d.fwd.current < 0 {
		return -1
	}
	d.q.gapKeyframes.Add(1)
	return d.fwd.current
}

// checkGap asks for a key frame when a NACKed packet is lost for good. It
// runs on every RTCP packet the subscriber sends (transport-wide feedback
// comes several times a second while media flows).
func (d *DownTrack) checkGap(now time.Time) {
	d.mu.Lock()
	layer := d.gapKeyframeLocked(now)
	d.mu.Unlock()
	if layer >= 0 {
		d.r.requestKeyframe(layer, now)
	}
}
