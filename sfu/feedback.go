package sfu

import "time"

// A participant's subscriber connection sends RTCP (receiver reports,
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
