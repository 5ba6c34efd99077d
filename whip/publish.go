package whip

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// pubSession is a WHIP publisher: a participant of the room whose
// publisher connection the WHIP client offered.
type pubSession struct {
	s        *Server
	roomName string
	p        *sfu.Participant
	ufrag    string // the client's ICE ufrag; another one is an ICE restart
	tag      string

	gatherOnce sync.Once
	gathered   chan struct{}
}

func (ps *pubSession) room() string { return ps.roomName }
func (ps *pubSession) etag() string { return ps.tag }

// onEvent is the participant's event sink: it notes when the publisher
// connection has gathered its candidates, and forgets the session when
// the SFU removes the participant.
func (ps *pubSession) onEvent(ev sfu.Event) {
	switch e := ev.(type) {
	case sfu.Candidate:
		if e.Target == sfu.TargetPublisher && e.Candidate == nil {
			ps.gatherOnce.Do(func() { close(ps.gathered) })
		}
	case sfu.Closed:
		ps.s.forget(ps)
	}
}

func (ps *pubSession) addCandidates(f sdpFrag) error {
	if f.ufrag != "" && f.ufrag != ps.ufrag {
		return fail(http.StatusUnprocessableEntity, "ICE restarts are not supported: start a new session")
	}
	for _, c := range f.cands {
		if err := ps.p.AddICECandidate(sfu.TargetPublisher, &c); err != nil {
			return fail(http.StatusBadRequest, "candidate: %v", err)
		}
	}
	return nil
}

func (ps *pubSession) close() { ps.p.Close() }

// postWHIP creates a WHIP session: POST /whip/ROOM[?mode=live] with an SDP
// offer and a token that may publish in ROOM.
func (s *Server) postWHIP(w http.ResponseWriter, r *http.Request) {
	g, offer, err := s.begin(r, true)
	if err != nil {
		writeErr(w, err)
		return
	}
	mode := r.URL.Query().Get("mode")
	if mode != "" && mode != "meeting" && mode != "live" {
		writeErr(w, fail(http.StatusBadRequest, "mode must be meeting or live"))
		return
	}
	ps := &pubSession{s: s, roomName: g.Room, ufrag: iceUfrag(offer), tag: `"` + newID() + `"`, gathered: make(chan struct{})}
	p, err := s.cfg.SFU.Join(g.Room, mode, sfu.ParticipantParams{ID: g.Identity, Name: g.Name, CanPublish: true, OnEvent: ps.onEvent})
	switch {
	case errors.Is(err, sfu.ErrRoomFull):
		writeErr(w, fail(http.StatusServiceUnavailable, "the room is full"))
		return
	case err != nil:
		writeErr(w, fail(http.StatusServiceUnavailable, "join: %v", err))
		return
	}
	ps.p = p
	if _, err := p.HandleOffer(offer); err != nil {
		p.Close()
		writeErr(w, fail(http.StatusBadRequest, "the offer cannot be used: %v", err))
		return
	}
	select {
	case <-ps.gathered:
	case <-time.After(s.cfg.Timeout):
	case <-r.Context().Done():
		p.Close()
		return
	}
	answer := p.LocalDescription(sfu.TargetPublisher)
	if answer == "" {
		p.Close()
		writeErr(w, fail(http.StatusInternalServerError, "no answer"))
		return
	}
	s.created(w, r, g, ps, answer)
	s.log.Info("whip session", "room", g.Room, "identity", g.Identity)
}

// iceUfrag finds an SDP's first a=ice-ufrag.
func iceUfrag(sdp string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
