package trunk

import "time"

// A newcomer to a room whose video comes through the trunks needs a key
// frame from each publisher's node before its first frame, a round trip
// over the trunks away. The request leaves as early as the node can know
// of the newcomer: when a client probing this node names its room
// (WarmRoom, from GET /api/ping?room=R, before the client has even been
// placed), and when a local participant joins (warmNewcomers). The key
// frame then arrives about when the newcomer's connection is up; one that
// arrives before is served from the receiver's cache (sfu replay.go). The
// flows' throttle (keyframeEvery) and the publishers' merge these requests
// with the down-tracks' own.

// warmEvery: a room is warmed by probes at most this often.
const warmEvery = time.Second

// WarmRoom asks the origins of a room's mirrored video for key frames
// ahead of a join that may come. It does nothing for a room this node does
// not have, and at most once per warmEvery per room. It never blocks.
func (t *Trunk) WarmRoom(room string) {
	if t.access == nil || room == "" || len(room) > maxName {
		return
	}
	t.calls.push(func(now time.Time) {
		lr := t.access.rooms[room]
		if lr == nil || now.Sub(lr.warmedAt) < warmEvery {
			return
		}
		lr.warmedAt = now
		t.access.askKeyframes(now, lr)
	})
}

// warmNewcomers asks for key frames as soon as a local participant joins,
// instead of when its down-tracks find they need one.
func (a *accessSide) warmNewcomers(now time.Time, lr *localRoom, parts []ParticipantState) {
	seen := make(map[string]bool, len(parts))
	fresh := false
	for _, ps := range parts {
		seen[ps.ID] = true
		fresh = fresh || !lr.locals[ps.ID]
	}
	lr.locals = seen
	if fresh {
		a.askKeyframes(now, lr)
	}
}

// askKeyframes asks for a key frame of every wanted layer of the room's
// mirrored, unmuted video.
func (a *accessSide) askKeyframes(now time.Time, lr *localRoom) {
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
