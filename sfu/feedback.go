package sfu

import "time"

// Whether a participant still watches through this node is told two ways.
// The client's own connection to its session (signaling's websocket): a
// client that moves to another node keeps its old connection open until it
// lets go of the old link, then closes it (SetAttached). And its media
// traffic: a participant's subscriber connection sends RTCP (receiver reports,
// transport-wide feedback, NACKs) while it receives anything: the last time
// any of it arrived says whether the participant still watches through
// this node. The trunk keeps a participant that moved to another node
// while it does (trunk/move.go): a client moving away lets go of its old
// connection only once its new one shows every remote participant
// (loadtest/handover.go, web/static/qrtn-handover.js), and until then its
// old node must keep feeding it.

// heard records feedback from the participant's subscriber connection.
func (p *Participant) heard(now time.Time) { p.lastFeedback.Store(now.UnixNano()) }

// LastFeedback is when RTCP last arrived from the participant's subscriber
// connection (zero: never).
func (p *Participant) LastFeedback() time.Time {
	ns := p.lastFeedback.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// SetAttached records whether the participant's client is connected to
// its session (the signaling layer calls it as the client's connection
// comes and goes). A client moving to another node stays attached here
// until it lets go of its old link, so the trunk keeps the participant
// until then (trunk/move.go), however long its RTCP takes to arrive.
func (p *Participant) SetAttached(on bool) { p.attached.Store(on) }

// Attached reports whether the participant's client is connected to its
// session (false for a trunk's mirror).
func (p *Participant) Attached() bool { return p.attached.Load() }
