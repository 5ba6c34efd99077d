package signaling

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/qrtn/qrtn/sfu"
)

// session is one participant's signaling state, which outlives any one
// websocket: when the websocket drops without a leave, the session is
// detached and holds the participant for the grace period (its media keeps
// flowing; the room sees nothing), and a resume attaches a new websocket.
// Events the client cannot receive while detached are summarised: the room
// as a snapshot in `resumed`, the latest layer, dynacast and speaker
// messages replayed, ICE candidates kept (bounded), the outstanding
// subscriber offer sent again.
//
// Lock order: session.mu is a leaf. The participant's events arrive with
// SFU locks held, so nothing here calls into the SFU under mu.
type session struct {
	s     *Server
	id    string
	p     *sfu.Participant
	grant Grant
	addr  netip.Addr // the client's address when it joined (for the quality plane)

	mu         sync.Mutex
	conn       *conn // attached websocket; nil while detached
	attaching  bool  // a join or resume is not ready for events: they queue
	queue      [][]byte
	gen        uint64 // resume generation; a token of another is refused
	grace      *time.Timer
	ended      bool
	candidates [][]byte          // ICE candidates while detached
	latest     map[string][]byte // last layer/publish_layers/speaker message by key, while detached
	// ice are the session's own ICE servers (TURN credentials), set before
	// the join and added to joined and resumed.
	ice []sfu.ICEServer
}

// maxHeldCandidates and maxQueued bound what a detached or resuming
// session keeps; beyond it candidates are dropped (the client restarts
// ICE if it needs more) and a resuming connection is dropped as too slow.
const (
	maxHeldCandidates = 64
	maxQueued         = 1024
)

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// onEvent is the participant's event sink; it never blocks.
func (se *session) onEvent(ev sfu.Event) {
	se.s.qEvent(se, ev)
	if cl, ok := ev.(sfu.Closed); ok {
		se.end(cl.Reason)
		return
	}
	var b []byte
	if j, ok := ev.(sfu.Joined); ok {
		b = se.joinedFrame("joined", j.Participant, j.Room, j.Mode, j.Participants, j.ICEServers)
	} else {
		b = encodeEvent(ev)
	}
	if b == nil {
		return
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	switch {
	case se.ended:
	case se.attaching:
		if len(se.queue) < maxQueued {
			se.queue = append(se.queue, b)
		} else if se.conn != nil {
			se.conn.shutdown(websocket.CloseTryAgainLater, "too slow")
		}
	case se.conn != nil:
		se.conn.enqueue(b)
	default:
		se.hold(ev, b)
	}
}

// hold keeps what a detached client will need; mu is held.
func (se *session) hold(ev sfu.Event, b []byte) {
	switch e := ev.(type) {
	case sfu.Candidate:
		if len(se.candidates) < maxHeldCandidates {
			se.candidates = append(se.candidates, b)
		}
	case sfu.LayerChanged:
		se.latest["layer/"+e.ParticipantID+"/"+e.TrackID] = b
	case sfu.PublishLayers:
		se.latest["publish/"+e.TrackID] = b
	case sfu.Speakers:
		se.latest["speaker"] = b
	}
}

// joinedFrame builds `joined` or `resumed`: the room, this node, the
// alternatives and a resume token.
func (se *session) joinedFrame(typ string, self sfu.ParticipantInfo, room, mode string, others []sfu.ParticipantInfo, ice []sfu.ICEServer) []byte {
	ps := make([]participantJSON, 0, len(others))
	for _, p := range others {
		ps = append(ps, toParticipant(p))
	}
	ice = append(append([]sfu.ICEServer{}, ice...), se.ice...)
	se.mu.Lock()
	gen := se.gen
	se.mu.Unlock()
	return mustJSON(joinedOut{Type: typ, Participant: toParticipant(self), Room: room, Mode: mode, Participants: ps,
		ICEServers: ice, Node: se.s.nodeInfo(), Resume: se.s.resumeInfo(se, gen), Alternatives: se.s.alternativesJSON()})
}

// tokenFrame is a fresh resume token for the attached client.
func (se *session) tokenFrame() []byte {
	se.mu.Lock()
	gen, ended := se.gen, se.ended
	se.mu.Unlock()
	if ended {
		return nil
	}
	return mustJSON(resumeTokenOut{Type: "resume_token", Resume: se.s.resumeInfo(se, gen), Alternatives: se.s.alternativesJSON()})
}

// detach is called when c's websocket ended without a leave: the
// participant is held for the grace period, or leaves now if the node
// closed the connection for a protocol violation. A connection that is no
// longer the session's (it was resumed elsewhere) changes nothing.
func (se *session) detach(c *conn, leave bool) {
	se.mu.Lock()
	if se.ended || se.conn != c {
		se.mu.Unlock()
		return
	}
	if leave {
		se.conn = nil
		se.mu.Unlock()
		se.p.SetAttached(false)
		se.leave()
		return
	}
	defer se.mu.Unlock()
	se.p.SetAttached(false) // an atomic: no SFU lock taken under mu
	se.conn, se.attaching, se.queue = nil, false, nil
	se.latest = map[string][]byte{}
	se.candidates = nil
	se.grace = time.AfterFunc(se.s.cfg.ResumeGrace, se.expire)
}

// expire ends a session whose client did not come back in time: the
// participant leaves the room and its tracks go.
func (se *session) expire() {
	se.mu.Lock()
	held := !se.ended && se.conn == nil
	se.mu.Unlock()
	if held {
		se.s.metrics.expired.Add(1)
		se.p.Close()
		se.end(nil)
	}
}

// end forgets the session; the participant is gone (reason says why; nil
// for a leave or a grace expiry). An attached client is told and closed.
func (se *session) end(reason error) {
	se.mu.Lock()
	if se.ended {
		se.mu.Unlock()
		return
	}
	se.ended = true
	c := se.conn
	se.conn = nil
	if se.grace != nil {
		se.grace.Stop()
	}
	se.mu.Unlock()
	if se.p != nil {
		se.p.SetAttached(false)
	}
	se.s.forget(se)
	se.s.qEnded(se, reason)
	if c != nil && reason != nil {
		c.closeFor(reason)
	}
}

// open lets a new session's events through once the server has registered
// it: the client must not learn it joined before the server knows the
// session (a drain's Sessions and Migrate, or SetAlternatives, would miss
// it). The frames queued meanwhile, `joined` first, go out.
func (se *session) open() {
	se.mu.Lock()
	ended := se.ended
	if !ended && se.conn != nil {
		for _, b := range se.queue {
			se.conn.enqueue(b)
		}
	}
	se.queue, se.attaching = nil, false
	se.mu.Unlock()
	if ended {
		se.s.forget(se) // it ended before it was registered
	}
}

// errSessionGone: the session ended while a resume was attaching.
var errSessionGone = errors.New("signaling: session ended")

// beginAttach makes c the session's connection for a resume with a token
// of generation gen. Events from now on queue until finishAttach. The
// connection it replaces, if any, is closed.
func (se *session) beginAttach(c *conn, gen uint64) error {
	se.mu.Lock()
	if se.ended {
		se.mu.Unlock()
		return errSessionGone
	}
	if gen != se.gen {
		se.mu.Unlock()
		return ErrBadResume
	}
	old := se.conn
	se.conn, se.attaching, se.queue = c, true, nil
	se.gen++
	if se.grace != nil {
		se.grace.Stop()
		se.grace = nil
	}
	se.mu.Unlock()
	se.p.SetAttached(true)
	if old != nil {
		old.shutdown(websocket.CloseNormalClosure, "resumed on another connection")
	}
	return nil
}

// finishAttach sends the snapshot, then what was held while detached, then
// what queued during the attach, and lets events flow again.
func (se *session) finishAttach(c *conn, resumed []byte) {
	se.mu.Lock()
	if se.conn == c {
		c.enqueue(resumed)
		for _, b := range se.candidates {
			c.enqueue(b)
		}
		for _, b := range se.latest {
			c.enqueue(b)
		}
		for _, b := range se.queue {
			c.enqueue(b)
		}
		se.candidates, se.queue, se.attaching = nil, nil, false
		se.latest = map[string][]byte{}
	}
	se.mu.Unlock()
	se.p.ResendOffer()
}

// leave ends the session at the client's request.
func (se *session) leave() {
	se.p.Close()
	se.end(nil)
}
