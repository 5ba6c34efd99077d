package trunk

import "time"

// warmNewcomers asks the origins of the room's mirrored video for key
// frames as soon as a local participant joins, instead of when its
// subscriber connection is up and its down-tracks find they need one: the
// request crosses the trunks while the newcomer's ICE and DTLS run, and
// the key frame arrives about when its connection does (one that arrives
// before is served from the receiver's cache, sfu replay.go). The flows'
// own throttle (keyframeEvery) merges this request with the down-tracks'.
func (a *accessSide) warmNewcomers(now time.Time, lr *localRoom, parts []ParticipantState) {
	seen := make(map[string]bool, len(parts))
	fresh := false
	for _, ps := range parts {
		seen[ps.ID] = true
		fresh = fresh || !lr.locals[ps.ID]
	}
	lr.locals = seen
	if !fresh {
		return
	}
	for _, id := range sortedKeys(lr.ghosts) {
		g := lr.ghosts[id]
		for _, tid := range sortedKeys(g.tracks) {
			gt := g.tracks[tid]
			if gt.gone || gt.state.Kind != "video" || gt.state.Muted {
				continue
			}
			for l := range maxLayers {
				if gt.wanted&(1<<l) != 0 {
					a.core.RequestKeyframe(now, gt.ref, l)
				}
			}
		}
	}
}
