package signaling

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/qrtn/qrtn/sfu"
)

// Alternative is another access node a client may move to (its
// migration targets, best first).
type Alternative struct {
	Node   string `json:"node"`
	Region string `json:"region,omitempty"`
	URL    string `json:"url"`
}

// sessionMetrics count resumes and their outcomes.
type sessionMetrics struct {
	resumed, refused, expired, migrated atomic.Uint64
}

// SessionStats are the resume counters for metrics.
type SessionStats struct {
	Held      int    // sessions whose websocket is gone, within their grace period
	Resumed   uint64 // resumes accepted
	Refused   uint64 // resumes refused (bad or expired token, session gone)
	Expired   uint64 // sessions whose grace period ran out
	Migrating uint64 // clients told to move to another node
}

// SessionStats counts held sessions and resume outcomes.
func (s *Server) SessionStats() SessionStats {
	st := SessionStats{Resumed: s.metrics.resumed.Load(), Refused: s.metrics.refused.Load(),
		Expired: s.metrics.expired.Load(), Migrating: s.metrics.migrated.Load()}
	for _, se := range s.sessionList() {
		se.mu.Lock()
		if se.conn == nil && !se.ended {
			st.Held++
		}
		se.mu.Unlock()
	}
	return st
}

// SetAlternatives sets the access nodes clients may move to, best first;
// clients receive the list in `joined`, `resumed` and `resume_token`, and
// at once (a `resume_token`) when it changed.
func (s *Server) SetAlternatives(alts []Alternative) {
	c := append([]Alternative{}, alts...)
	if old := s.alts.Swap(&c); old != nil && slices.Equal(*old, c) {
		return
	}
	for _, se := range s.sessionList() {
		if b := se.tokenFrame(); b != nil {
			se.mu.Lock()
			if se.conn != nil && !se.attaching {
				se.conn.enqueue(b)
			}
			se.mu.Unlock()
		}
	}
}

func (s *Server) alternativesJSON() []Alternative {
	if a := s.alts.Load(); a != nil {
		return *a
	}
	return []Alternative{}
}

type nodeJSON struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

func (s *Server) nodeInfo() nodeJSON { return nodeJSON{Name: s.cfg.NodeName, Region: s.cfg.Region} }

type resumeJSON struct {
	Token   string `json:"token"`
	GraceMs int64  `json:"grace_ms"`
	TTLMs   int64  `json:"ttl_ms"`
}

// resumeInfo mints the session's current resume token.
func (s *Server) resumeInfo(se *session, gen uint64) resumeJSON {
	tok := mintResume(s.resumeKey, resumeGrant{identity: se.grant.Identity, room: se.grant.Room, session: se.id,
		node: s.cfg.NodeName, gen: gen}, s.cfg.ResumeTokenTTL, time.Now())
	return resumeJSON{Token: tok, GraceMs: s.cfg.ResumeGrace.Milliseconds(), TTLMs: s.cfg.ResumeTokenTTL.Milliseconds()}
}

func (s *Server) register(se *session) {
	s.mu.Lock()
	s.sessions[se.id] = se
	s.mu.Unlock()
}

func (s *Server) forget(se *session) {
	s.mu.Lock()
	if s.sessions[se.id] == se {
		delete(s.sessions, se.id)
	}
	s.mu.Unlock()
}

func (s *Server) session(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

func (s *Server) sessionList() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*session, 0, len(s.sessions))
	for _, se := range s.sessions {
		out = append(out, se)
	}
	return out
}

// Participants counts the sessions of browser clients (attached or held).
func (s *Server) Participants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// SessionRef names one client session for Migrate.
type SessionRef struct {
	ID, Identity, Room string
	Attached           bool
}

// Sessions lists the client sessions, attached or held.
func (s *Server) Sessions() []SessionRef {
	var out []SessionRef
	for _, se := range s.sessionList() {
		se.mu.Lock()
		out = append(out, SessionRef{ID: se.id, Identity: se.grant.Identity, Room: se.grant.Room, Attached: se.conn != nil})
		se.mu.Unlock()
	}
	return out
}

// Migrate tells a session's client to move to another access node
// (`migrate`); false when the session is gone or has no websocket now.
func (s *Server) Migrate(id string, to Alternative, reason string) bool {
	se := s.session(id)
	if se == nil {
		return false
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.ended || se.conn == nil {
		return false
	}
	se.conn.enqueue(mustJSON(migrateOut{Type: "migrate", Node: to.Node, Region: to.Region, URL: to.URL, Reason: reason}))
	s.metrics.migrated.Add(1)
	return true
}

// SetDraining refuses new joins (`draining`) while on; resumes are still
// accepted so that held clients can come back and be moved.
func (s *Server) SetDraining(on bool) { s.draining.Store(on) }

// DropConnections cuts every client websocket without a close frame, as a
// broken network would (a test and demo hook): the sessions are held for
// their grace period and the clients resume. It returns how many it cut.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.UnderlyingConn().Close()
	}
	return len(conns)
}

// closeFor closes the connection of a participant the SFU removed, with
// the reason's stable error code or close code.
func (c *conn) closeFor(reason error) {
	switch {
	case reason == sfu.ErrReplaced:
		c.enqueue(encodeError(CodeReplaced, "this identity joined again (here or on another node): this session is over"))
		c.shutdown(websocket.CloseNormalClosure, CodeReplaced)
	case reason == sfu.ErrClosed:
		c.shutdown(websocket.CloseGoingAway, "node shutting down")
	default:
		c.shutdown(websocket.CloseNormalClosure, fmt.Sprint(reason))
	}
}
