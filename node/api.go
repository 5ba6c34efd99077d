package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

// The room API (node/API.md): operators' HTTP+JSON calls, authenticated by
// an admin JWT (qrtn token --admin). Any node answers for the whole
// network: it reads the flooded room records and sends commands over the
// trunks to the node that must act (trunk/admin.go), which carries them out
// on its SFU (api_exec.go).

// apiTimeout bounds one API call, commands forwarded over trunks included.
const apiTimeout = 5 * time.Second

// maxAPIBody bounds a request body.
const maxAPIBody = 64 << 10

// apiRoutes registers the room API, WHIP/WHEP and the edge features of
// issue 14 (one line in routes()).
func (n *Node) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/rooms", n.admin(n.apiListRooms))
	mux.HandleFunc("POST /api/rooms", n.admin(n.apiCreateRoom))
	mux.HandleFunc("GET /api/rooms/{room}", n.admin(n.apiGetRoom))
	mux.HandleFunc("DELETE /api/rooms/{room}", n.admin(n.apiCloseRoom))
	mux.HandleFunc("GET /api/rooms/{room}/participants", n.admin(n.apiListParticipants))
	mux.HandleFunc("GET /api/rooms/{room}/participants/{identity}", n.admin(n.apiGetParticipant))
	mux.HandleFunc("DELETE /api/rooms/{room}/participants/{identity}", n.admin(n.apiParticipantOp(opRemove)))
	mux.HandleFunc("POST /api/rooms/{room}/participants/{identity}/mute", n.admin(n.apiParticipantOp(opMute)))
	mux.HandleFunc("POST /api/rooms/{room}/participants/{identity}/permissions", n.admin(n.apiParticipantOp(opPermissions)))
	mux.HandleFunc("POST /api/rooms/{room}/data", n.admin(n.apiSendData))
	n.edgeRoutes(mux)
}

// apiError is an error answer: {"error": {"code", "message"}} with an
// HTTP status. Codes are stable (API.md).
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The API's error codes.
const (
	codeUnauthorized    = "unauthorized"
	codeForbidden       = "forbidden"
	codeBadRequest      = "bad_request"
	codeTooLarge        = "too_large"
	codeRoomNotFound    = "room_not_found"
	codePartNotFound    = "participant_not_found"
	codeTrackNotFound   = "track_not_found"
	codeNodeNotFound    = "node_not_found"
	codeRoomExists      = "room_exists"
	codeNeedsRejoin     = "needs_rejoin"
	codeNotAccess       = "not_an_access_node"
	codeNodeUnreachable = "node_unreachable"
	codeUnavailable     = "unavailable"
	codeInternal        = "internal"
)

// handler is an API handler: it returns a status and a value to encode,
// or an error.
type handler func(r *http.Request) (int, any, error)

// admin authenticates the request with an admin token, runs h and writes
// its answer as JSON.
func (n *Node) admin(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := n.checkAdmin(r); err != nil {
			writeAPI(w, 0, nil, err)
			return
		}
		if n.closing.Load() {
			writeAPI(w, 0, nil, errf(http.StatusServiceUnavailable, codeUnavailable, "the node is shutting down"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
		status, v, err := h(r)
		writeAPI(w, status, v, err)
	}
}

func (n *Node) checkAdmin(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errf(http.StatusUnauthorized, codeUnauthorized, "an admin token is required: Authorization: Bearer TOKEN (qrtn token --admin)")
	}
	v, err := signaling.NewVerifier(n.cfg.APIKey, n.cfg.APISecret)
	if err != nil {
		return errf(http.StatusInternalServerError, codeInternal, "%v", err)
	}
	if _, err := v.VerifyAdmin(strings.TrimSpace(tok), time.Now()); err != nil {
		if errors.Is(err, signaling.ErrNotAdmin) {
			return errf(http.StatusForbidden, codeForbidden, "this token has no admin grant (mint one with qrtn token --admin)")
		}
		return errf(http.StatusUnauthorized, codeUnauthorized, "%v", err)
	}
	return nil
}

func writeAPI(w http.ResponseWriter, status int, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errf(http.StatusInternalServerError, codeInternal, "%v", err)
		}
		if ae.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qrtn"`)
		}
		w.WriteHeader(ae.Status)
		_ = json.NewEncoder(w).Encode(map[string]*apiError{"error": ae})
		return
	}
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// decodeBody reads a JSON request body into v, strictly.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errf(http.StatusRequestEntityTooLarge, codeTooLarge, "the body is over %d bytes", maxAPIBody)
		}
		if errors.Is(err, io.EOF) {
			return errf(http.StatusBadRequest, codeBadRequest, "a JSON body is required")
		}
		return errf(http.StatusBadRequest, codeBadRequest, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return errf(http.StatusBadRequest, codeBadRequest, "one JSON object expected")
	}
	return nil
}

// apiContext bounds a call.
func apiContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), apiTimeout)
}
