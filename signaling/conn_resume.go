package signaling

import (
	"errors"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// resume attaches this connection to a held (or still attached) session.
func (c *conn) resume(m resumeMsg) bool {
	g, err := verifyResume(c.s.resumeKey, c.s.cfg.NodeName, m.token, time.Now())
	if err != nil {
		return c.refuseResume(err)
	}
	se := c.s.session(g.session)
	if se == nil {
		return c.refuseResume(ErrResumeExpired)
	}
	if se.grant.Identity != g.identity || se.grant.Room != g.room {
		return c.refuseResume(ErrBadResume)
	}
	if err := se.beginAttach(c, g.gen); err != nil {
		if errors.Is(err, errSessionGone) {
			return c.refuseResume(ErrResumeExpired)
		}
		return c.refuseResume(errors.New("the token was already used or superseded: join again"))
	}
	c.sess.Store(se)
	c.p, c.grant, c.joined = se.p, se.grant, true
	c.log = c.log.With("room", g.room, "identity", g.identity, "resumed", true)
	p := se.p
	room := p.Room()
	var others = room.Participants()
	infos := make([]sfu.ParticipantInfo, 0, len(others))
	for _, o := range others {
		if o != p {
			infos = append(infos, o.Info())
		}
	}
	c.s.metrics.resumed.Add(1)
	c.s.qResumed(se)
	se.finishAttach(c, se.joinedFrame("resumed", p.Info(), room.Name(), room.Mode(), infos, c.s.sfu.ICEServers()))
	return false
}

// refuseResume answers a resume that cannot be: resume_expired when the
// session is gone, bad_resume otherwise; the connection closes.
func (c *conn) refuseResume(err error) bool {
	c.s.metrics.refused.Add(1)
	code := CodeBadResume
	if errors.Is(err, ErrResumeExpired) {
		code = CodeResumeExpired
	}
	c.fail(code, err.Error(), true)
	return true
}
