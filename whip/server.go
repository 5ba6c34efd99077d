// Package whip serves WHIP (RFC 9725) and WHEP on an access node: a POST
// of an SDP offer to /whip/ROOM with a bearer token publishes into a room,
// one to /whep/ROOM/PARTICIPANT watches a participant; PATCH carries
// trickled candidates, DELETE ends the session. Publishers become ordinary
// participants of the SFU (so their tracks cross trunks like a browser's);
// viewers join the room as participants without media (so the trunk
// mirrors the participant they watch onto this node) and take its tracks
// out through the SFU's sinks. It also has a small WHIP client (client.go)
// for `qrtn whip`.
//
// It knows HTTP, SDP and the SFU's seams; it knows nothing of trunks or
// signaling beyond the token check it is given.
package whip

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/signaling"
)

// Config is what the server needs from its node.
type Config struct {
	SFU *sfu.SFU
	// Verify checks a bearer token (a participant's access token).
	Verify func(token string) (signaling.Grant, error)
	// ICEServers are a session's STUN/TURN servers, sent as Link headers.
	ICEServers func(g signaling.Grant) []sfu.ICEServer
	// Known reports whether a participant is in a room anywhere in the
	// network; a WHEP request for an unknown one is answered 404 at once
	// (nil: wait for it up to Timeout).
	Known func(room, participant string) bool
	// MaxSessions bounds WHIP and WHEP sessions on the node (default 500).
	MaxSessions int
	// Timeout bounds ICE gathering before answering, and the wait for a
	// watched participant to appear on this node (default 5 s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server serves /whip/ and /whep/. Close it.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]session
	pionAPI  *webrtc.API // WHEP sessions' (view.go)
	closed   bool
	wg       sync.WaitGroup
}

// session is a WHIP or WHEP resource.
type session interface {
	room() string
	addCandidates(frag sdpFrag) error
	etag() string
	close()
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 500
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Server{cfg: cfg, log: cfg.Logger, sessions: map[string]session{}}
}

// Register adds the endpoints to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /whip/{room}", s.postWHIP)
	mux.HandleFunc("POST /whep/{room}/{participant}", s.postWHEP)
	for _, p := range []string{"/whip/{room}", "/whep/{room}/{participant}"} {
		mux.HandleFunc("OPTIONS "+p, s.options)
	}
	for _, p := range []string{"/whip/{room}/session/{id}", "/whep/{room}/{participant}/session/{id}"} {
		mux.HandleFunc("PATCH "+p, s.patch)
		mux.HandleFunc("DELETE "+p, s.delete)
		mux.HandleFunc("OPTIONS "+p, s.options)
	}
}

// Sessions counts open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]session, 0, len(s.sessions))
	for id, se := range s.sessions {
		all = append(all, se)
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	for _, se := range all {
		se.close()
	}
	s.wg.Wait()
}

// maxSDP bounds an offer or a trickle fragment.
const maxSDP = 64 << 10

// httpError is an answer with a status and a plain-text reason.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) error {
	return &httpError{status, fmt.Sprintf(format, args...)}
}

func writeErr(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{http.StatusInternalServerError, err.Error()}
	}
	if he.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="qrtn"`)
	}
	http.Error(w, he.msg, he.status)
}

// begin checks a POST: its content type, body and token, and room for a
// new session.
func (s *Server) begin(r *http.Request, publish bool) (signaling.Grant, string, error) {
	var g signaling.Grant
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		return g, "", fail(http.StatusUnsupportedMediaType, "the body must be application/sdp, not %q", ct)
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return g, "", fail(http.StatusUnauthorized, "a bearer token is required (an access token for the room)")
	}
	g, err := s.cfg.Verify(strings.TrimSpace(tok))
	switch {
	case err != nil:
		return g, "", fail(http.StatusUnauthorized, "%v", err)
	case g.Room != r.PathValue("room"):
		return g, "", fail(http.StatusForbidden, "the token is for room %q", g.Room)
	case publish && !g.Publish:
		return g, "", fail(http.StatusForbidden, "the token may not publish")
	case !publish && !g.Subscribe:
		return g, "", fail(http.StatusForbidden, "the token may not subscribe")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxSDP+1))
	if err != nil || len(b) == 0 || len(b) > maxSDP {
		return g, "", fail(http.StatusBadRequest, "an SDP offer of 1..%d bytes is required", maxSDP)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return g, "", fail(http.StatusServiceUnavailable, "the node is shutting down")
	}
	if len(s.sessions) >= s.cfg.MaxSessions {
		return g, "", fail(http.StatusServiceUnavailable, "too many WHIP/WHEP sessions on this node")
	}
	return g, string(b), nil
}

// created answers a new session: 201, its Location, ETag and ICE servers.
func (s *Server) created(w http.ResponseWriter, r *http.Request, g signaling.Grant, se session, answer string) {
	id := newID()
	s.mu.Lock()
	s.sessions[id] = se
	s.mu.Unlock()
	loc := strings.TrimSuffix(r.URL.Path, "/") + "/session/" + id
	w.Header().Set("Location", loc)
	w.Header().Set("ETag", se.etag())
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	for _, l := range linkHeaders(s.cfg.ICEServers, g) {
		w.Header().Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// linkHeaders turns ICE servers into RFC 9725 Link headers.
func linkHeaders(ice func(signaling.Grant) []sfu.ICEServer, g signaling.Grant) []string {
	if ice == nil {
		return nil
	}
	var out []string
	for _, srv := range ice(g) {
		for _, u := range srv.URLs {
			l := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
			if srv.Username != "" {
				l += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", srv.Username, srv.Credential)
			}
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) options(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Accept-Post", "application/sdp")
	w.Header().Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	w.Header().Set("Access-Control-Allow-Methods", "OPTIONS, POST, PATCH, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	w.Header().Set("Access-Control-Expose-Headers", "Location, Link, ETag, Accept-Patch")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) lookup(r *http.Request) (string, session, error) {
	id := r.PathValue("id")
	s.mu.Lock()
	se := s.sessions[id]
	s.mu.Unlock()
	if se == nil || se.room() != r.PathValue("room") {
		return id, nil, fail(http.StatusNotFound, "no such session")
	}
	return id, se, nil
}

// patch takes trickled candidates (RFC 8840 fragments); an ICE restart is
// not supported (422, as RFC 9725 asks of a session that trickles but does
// not restart).
func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	_, se, err := s.lookup(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/trickle-ice-sdpfrag") {
		writeErr(w, fail(http.StatusUnsupportedMediaType, "PATCH takes application/trickle-ice-sdpfrag"))
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != se.etag() {
		writeErr(w, fail(http.StatusPreconditionFailed, "the session's ETag is %s", se.etag()))
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxSDP+1))
	if err != nil || len(b) > maxSDP {
		writeErr(w, fail(http.StatusBadRequest, "fragment over %d bytes", maxSDP))
		return
	}
	frag, err := parseFrag(string(b))
	if err != nil {
		writeErr(w, fail(http.StatusBadRequest, "%v", err))
		return
	}
	if err := se.addCandidates(frag); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	id, se, err := s.lookup(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
	se.close()
	w.WriteHeader(http.StatusOK)
}

// forget drops a session that ended by itself (its connection failed).
func (s *Server) forget(se session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, x := range s.sessions {
		if x == se {
			delete(s.sessions, id)
		}
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
