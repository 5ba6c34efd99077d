package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// message is one signaling message (signaling/PROTOCOL.md) as the client
// sees it. Fields that are an object in one message and a string in another
// stay raw.
type message struct {
	Type         string                   `json:"type"`
	Token        string                   `json:"token,omitempty"`
	Mode         string                   `json:"mode,omitempty"`
	Target       string                   `json:"target,omitempty"`
	SDP          string                   `json:"sdp,omitempty"`
	Candidate    *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Participant  json.RawMessage          `json:"participant,omitempty"`
	Participants json.RawMessage          `json:"participants,omitempty"`
	Track        json.RawMessage          `json:"track,omitempty"`
	Layer        string                   `json:"layer,omitempty"`
	Layers       []string                 `json:"layers,omitempty"`
	Mid          string                   `json:"mid,omitempty"`
	Kind         string                   `json:"kind,omitempty"`
	Muted        *bool                    `json:"muted,omitempty"`
	Room         string                   `json:"room,omitempty"`
	ICEServers   []webrtc.ICEServer       `json:"iceServers,omitempty"`
	Code         string                   `json:"code,omitempty"`
	Message      string                   `json:"message,omitempty"`
	// Session survival (recover.go): resume tokens, the alternatives, the
	// node ({name, region} in joined; a name in migrate), migrate's target.
	Resume       *resumeInfo     `json:"resume,omitempty"`
	Alternatives []alternative   `json:"alternatives,omitempty"`
	Node         json.RawMessage `json:"node,omitempty"`
	URL          string          `json:"url,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	// Selective subscription (subscribe.go).
	AutoSubscribe *bool `json:"auto_subscribe,omitempty"`
	Subscribe     *bool `json:"subscribe,omitempty"`
}

// participantInfo is a participant object of the protocol.
type participantInfo struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Publish   bool        `json:"publish"`
	Subscribe bool        `json:"subscribe"`
	Tracks    []trackInfo `json:"tracks"`
}

// trackInfo is a track object of the protocol.
type trackInfo struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Layers []string `json:"layers"`
	Muted  bool     `json:"muted"`
}

// ProtocolError is an error message from the node.
type ProtocolError struct {
	Code, Message string
}

func (e *ProtocolError) Error() string { return fmt.Sprintf("node: %s: %s", e.Code, e.Message) }

// wsConn is the client end of the signaling websocket: writes are
// serialised, reads happen in the owner's loop.
type wsConn struct {
	c  *websocket.Conn
	mu sync.Mutex
}

func dialWS(ctx context.Context, base string) (*wsConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("loadtest: node URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("loadtest: websocket %s: %s: %w", u, resp.Status, err)
		}
		return nil, fmt.Errorf("loadtest: websocket %s: %w", u, err)
	}
	c.SetReadLimit(1 << 20)
	return &wsConn{c: c}, nil
}

func (w *wsConn) send(m message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.WriteJSON(m)
}

func (w *wsConn) recv() (message, error) {
	var m message
	err := w.c.ReadJSON(&m)
	return m, err
}

func (w *wsConn) close() error { return w.c.Close() }

// TokenFunc returns an access token for an identity; publish says whether
// it must grant publishing (a host) or only subscribing (a viewer).
type TokenFunc func(ctx context.Context, identity string, publish bool) (string, error)

// DevTokens gets tokens from a development node's GET /api/token.
func DevTokens(base, room string) TokenFunc {
	return func(ctx context.Context, identity string, publish bool) (string, error) {
		return devToken(ctx, base, room, identity, "", publish)
	}
}

// devTokenAt gets a token from another development node for a
// participant that moves there, keeping its identity.
func devTokenAt(room string) func(ctx context.Context, base, identity string, publish bool) (string, error) {
	return func(ctx context.Context, base, identity string, publish bool) (string, error) {
		return devToken(ctx, base, room, identity, identity, publish)
	}
}

// devToken asks base's GET /api/token for a token; an empty identity lets
// the node make one from the name.
func devToken(ctx context.Context, base, room, name, identity string, publish bool) (string, error) {
	role := "viewer"
	if publish {
		role = "host"
	}
	q := url.Values{"room": {room}, "name": {name}, "role": {role}}
	if identity != "" {
		q.Set("identity", identity)
	}
	u := strings.TrimSuffix(base, "/") + "/api/token?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("loadtest: GET /api/token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("loadtest: GET /api/token: %s (is the node in dev mode?)", resp.Status)
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("loadtest: GET /api/token: %w", err)
	}
	return body.Token, nil
}
