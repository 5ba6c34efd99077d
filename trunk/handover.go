package trunk

import (
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// On the node a participant moves to, its mirror (fed through the trunks
// from the node it leaves) is there before it: the local session replaces
// the mirror in the room when it joins. The SFU keeps the mirror's tracks
// for us (KeepWhenReplaced), and they go on carrying the old node's media
// to this node's subscribers while the participant publishes again here.
// Each goes once the local session's tracks of its kind reach every
// subscriber it reaches, once it stops delivering, or after moveOverlap;
// then the mirror closes as replaced. The subscribers see the new tracks
// before the old ones end, and no leave.

// handover is a mirror replaced by a local session of its identity.
type handover struct {
	g     *ghost
	since time.Time
}

// handOver keeps ghost g, no longer wanted, if a local session of its
// identity replaced it; false if it is simply to go.
func (a *accessSide) handOver(now time.Time, lr *localRoom, id string, g *ghost) bool {
	p := lr.room.Participant(id)
	if p == nil || p == g.p || p.Remote() {
		return false
	}
	if lr.handing == nil {
		lr.handing = map[string]*handover{}
	}
	if old := lr.handing[id]; old != nil {
		a.endHandover(now, old)
	}
	lr.handing[id] = &handover{g: g, since: now}
	delete(lr.ghosts, id)
	return true
}

// settleHandovers lets each kept mirror's tracks go as the local session's
// take over, and closes the mirror when none is left.
func (a *accessSide) settleHandovers(now time.Time, lr *localRoom) {
	for _, id := range sortedKeys(lr.handing) {
		h := lr.handing[id]
		reach := localReach(lr.room.Participant(id), h.since)
		g := h.g
		for _, tid := range sortedKeys(g.tracks) {
			gt := g.tracks[tid]
			if now.Sub(h.since) >= moveOverlap || takenOver(now, gt, reach[gt.state.Kind]) {
				a.log.Debug("replaced mirror track goes", "track", gt.ref, "kind", gt.state.Kind, "after", now.Sub(h.since))
				a.dropTrack(now, gt)
				g.p.UnpublishTrack(gt.recv)
				delete(g.tracks, tid)
			}
		}
		if len(g.tracks) == 0 {
			a.endHandover(now, h)
			delete(lr.handing, id)
		}
	}
}

// localReach is, per kind, the subscribers that local participant p's
// tracks forward to, counting only kinds with a track that delivered
// since the handover began.
func localReach(p *sfu.Participant, since time.Time) map[string]map[string]bool {
	reach := map[string]map[string]bool{}
	if p == nil || p.Remote() {
		return reach
	}
	for _, r := range p.Tracks() {
		if !r.LastPacket().After(since) {
			continue
		}
		kind := r.Kind().String()
		m := reach[kind]
		if m == nil {
			m = map[string]bool{}
			reach[kind] = m
		}
		for id := range r.Forwarding() {
			m[id] = true
		}
	}
	return reach
}

// endHandover drops what is left of a kept mirror and closes it as
// replaced (no leave).
func (a *accessSide) endHandover(now time.Time, h *handover) {
	for _, tid := range sortedKeys(h.g.tracks) {
		a.dropTrack(now, h.g.tracks[tid])
	}
	for _, gt := range h.g.retiring {
		a.dropTrack(now, gt)
	}
	h.g.tracks, h.g.retiring = nil, nil
	h.g.p.Replace()
}

// endHandovers ends every kept mirror of a room that closes.
func (a *accessSide) endHandovers(now time.Time, lr *localRoom) {
	for _, id := range sortedKeys(lr.handing) {
		a.endHandover(now, lr.handing[id])
	}
	lr.handing = nil
}
