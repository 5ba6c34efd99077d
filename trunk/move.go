package trunk

import (
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// A participant moving between access nodes (its node drains, or it lost
// its node) is one identity announced by two nodes for a moment: the old
// one, still carrying its media until the client lets go, and the new one.
// The newest session wins (reconcileGhosts); two rules make the change
// seamless for the subscribers of the other nodes:
//
//   - On the old node, the local participant is replaced by the mirror of
//     the new one only once its client let go of its session here (it
//     closes its connection to the node, sfu.Participant.Attached), its
//     media stopped arriving and its subscriber connection stopped sending
//     feedback, or moveOverlap after the newer session was first seen:
//     until then it keeps feeding its subscribers, here and through the
//     trunks, and keeps receiving what it subscribed to. A subscriber that
//     moves lets go of its old connection only once the new one shows every
//     participant the old one did.
//   - On every other node, the mirror keeps its old tracks while the new
//     ones are published beside them, and lets each go once a new track of
//     the same kind reaches every subscriber the old one reached (its
//     down-tracks forward: video from a key frame on), once the old one
//     stopped delivering, or after moveOverlap: subscribers see the new
//     tracks before the old ones end. A new track that merely delivered
//     to the node is not enough: its subscribers still need a key frame,
//     and until then the old track is all they have.
//
// On the new node itself, the local session replaces the mirror in the
// room at its join, but the mirror's tracks stay beside the new ones until
// those reach the same subscribers (handover.go).

const (
	// moveOverlap bounds both overlaps.
	moveOverlap = 3 * time.Second
	// stillSending: a track that received within this still carries media.
	stillSending = 500 * time.Millisecond
)

// deferReplace reports whether local participant p, whose identity has a
// newer session on another node, stays for now (it still sends).
func (a *accessSide) deferReplace(now time.Time, lr *localRoom, p *sfu.Participant) bool {
	first, ok := lr.newer[p.ID()]
	if !ok {
		first = now
		lr.newer[p.ID()] = now
	}
	if now.Sub(first) >= moveOverlap {
		a.log.Debug("moved participant goes: overlap over", "participant", p.ID(), "after", now.Sub(first))
		return false
	}
	if p.Attached() {
		return true // its client has not let go of its link here yet (sfu/feedback.go)
	}
	if now.Sub(p.LastFeedback()) < stillSending {
		return true // it still watches through this node
	}
	for _, r := range p.Tracks() {
		if now.Sub(r.LastPacket()) < stillSending {
			return true
		}
	}
	a.log.Debug("moved participant goes: it stopped sending", "participant", p.ID(), "after", now.Sub(first),
		"feedback_ago", now.Sub(p.LastFeedback()))
	return false
}

// reoriginGhost makes a mirror follow its identity to origin: its tracks
// retire (settleMoves) and the new origin's are published beside them.
func (a *accessSide) reoriginGhost(now time.Time, g *ghost, origin string) {
	for _, id := range sortedKeys(g.tracks) {
		g.retiring = append(g.retiring, g.tracks[id])
	}
	g.tracks = map[string]*ghostTrack{}
	g.origin, g.movedAt = origin, now
}

// settleMoves runs every housekeeping tick: deferred replacements are
// looked at again, and retiring tracks whose successors deliver go.
func (a *accessSide) settleMoves(now time.Time) {
	for _, name := range sortedKeys(a.rooms) {
		lr := a.rooms[name]
		if len(lr.newer) > 0 {
			lr.dirty.Store(true)
		}
		for _, id := range sortedKeys(lr.ghosts) {
			a.retire(now, lr.ghosts[id])
		}
		a.settleHandovers(now, lr)
	}
}

// retire unpublishes the mirror's retiring tracks that a new track of
// their kind has taken over from (see the top of the file), or all of them
// once moveOverlap passed.
func (a *accessSide) retire(now time.Time, g *ghost) {
	if len(g.retiring) == 0 {
		return
	}
	// reach: per kind, the subscribers the new tracks forward to, once one
	// of them delivered since the move.
	reach := map[string]map[string]bool{}
	for _, gt := range g.tracks {
		if gt.recv == nil || !gt.recv.LastPacket().After(g.movedAt) {
			continue
		}
		m := reach[gt.state.Kind]
		if m == nil {
			m = map[string]bool{}
			reach[gt.state.Kind] = m
		}
		for id := range gt.recv.Forwarding() {
			m[id] = true
		}
	}
	kept := g.retiring[:0]
	for _, gt := range g.retiring {
		if now.Sub(g.movedAt) < moveOverlap && !takenOver(now, gt, reach[gt.state.Kind]) {
			kept = append(kept, gt)
			continue
		}
		a.log.Debug("retiring mirror track goes", "track", gt.ref, "kind", gt.state.Kind, "after", now.Sub(g.movedAt),
			"taken_over", takenOver(now, gt, reach[gt.state.Kind]))
		a.dropTrack(now, gt)
		if gt.recv != nil {
			g.p.UnpublishTrack(gt.recv)
		}
	}
	g.retiring = kept
}

// takenOver reports whether a retiring track can go: a new track of its
// kind delivered since the move (reach: the subscribers the new tracks of
// its kind forward to; nil while none delivered), and either reaches every
// subscriber the old one reaches or the old one stopped delivering. Until a
// new track of its kind delivered, the old one stays even when silent: a
// silence can be a stall (a loaded machine, a trunk that held packets
// back), and its subscribers must never lose the participant's track of a
// kind before the new one is there (TestMoveKeepsMirrorUntilNewTracks).
// A kind the new session does not publish waits for moveOverlap.
func takenOver(now time.Time, old *ghostTrack, reach map[string]bool) bool {
	if old.recv == nil {
		return true
	}
	if reach == nil {
		return false
	}
	if now.Sub(old.recv.LastPacket()) >= stillSending {
		return true // it stopped (or never delivered): nothing to keep
	}
	for id := range old.recv.Forwarding() {
		if !reach[id] {
			return false
		}
	}
	return true
}
