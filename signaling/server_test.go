package signaling

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/qrtn/qrtn/sfu"
)

const (
	testKey    = "APIkey"
	testSecret = "a-long-enough-test-secret"
)

type env struct {
	t   *testing.T
	sfu *sfu.SFU
	srv *Server
	hs  *httptest.Server
	url string
}

func newEnv(t *testing.T, cfg Config, sfuCfg sfu.Config) *env {
	t.Helper()
	sfuCfg.UDPAddr = "127.0.0.1:0"
	s, err := sfu.New(sfuCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIKey, cfg.APISecret = testKey, testSecret
	srv, err := New(cfg, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	e := &env{t: t, sfu: s, srv: srv, hs: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
		_ = s.Close()
	})
	return e
}

func (e *env) token(g Grant, ttl time.Duration) string {
	e.t.Helper()
	tok, err := MintToken(testKey, testSecret, g, ttl, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func host(room, id string) Grant {
	return Grant{Identity: id, Room: room, Publish: true, Subscribe: true}
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *env) dial() *client {
	e.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(e.url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &client{t: e.t, ws: ws}
	e.t.Cleanup(func() { _ = ws.Close() })
	return c
}

func (c *client) sendJSON(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next message (skipping ICE candidates and speaker
// updates); it fails the test on a close or timeout.
func (c *client) next() map[string]any {
	c.t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if m["type"] != "candidate" && m["type"] != "speaker" {
			return m
		}
	}
}

func (c *client) read() (map[string]any, error) {
	// Generous: a grace expiry or a close runs through the SFU, which a
	// loaded CI machine under -race can hold up for seconds.
	_ = c.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	var m map[string]any
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(b, &m)
}

// expect reads until a message of type typ.
func (c *client) expect(typ string) map[string]any {
	c.t.Helper()
	for {
		m := c.next()
		if m["type"] == typ {
			return m
		}
	}
}

// expectError asserts the next error message has the code. Room events
// (another participant's join, candidates, speakers) may arrive before it at
// any time and are skipped.
func (c *client) expectError(code string) {
	c.t.Helper()
	m := c.expect("error")
	if m["code"] != code {
		c.t.Fatalf("got %v, want error %s", m, code)
	}
}

// expectClosed asserts the server closes the connection next.
func (c *client) expectClosed() {
	c.t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseTryAgainLater) {
				c.t.Fatalf("connection ended with %v, want a close frame", err)
			}
			return
		}
		if m["type"] != "candidate" && m["type"] != "speaker" {
			c.t.Fatalf("got %v, want the connection closed", m)
		}
	}
}

func (c *client) join(tok string) map[string]any {
	c.t.Helper()
	c.sendJSON(map[string]any{"type": "join", "token": tok})
	return c.expect("joined")
}

func TestBadTokens(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	now := time.Now()
	sign := func(method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
		tk := jwt.NewWithClaims(method, c)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := claims{Room: "r", RegisteredClaims: jwt.RegisteredClaims{Subject: "u", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	noExp := claims{Room: "r", RegisteredClaims: jwt.RegisteredClaims{Subject: "u"}}
	noSub := claims{Room: "r", RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	tests := map[string]map[string]any{
		"missing":      {"type": "join"},
		"malformed":    {"type": "join", "token": "not.a.jwt"},
		"wrong secret": {"type": "join", "token": sign(jwt.SigningMethodHS256, []byte("other-secret"), testKey, good)},
		"wrong kid":    {"type": "join", "token": sign(jwt.SigningMethodHS256, []byte(testSecret), "other", good)},
		"HS512":        {"type": "join", "token": sign(jwt.SigningMethodHS512, []byte(testSecret), testKey, good)},
		"alg none":     {"type": "join", "token": sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, testKey, good)},
		"no exp":       {"type": "join", "token": sign(jwt.SigningMethodHS256, []byte(testSecret), testKey, noExp)},
		"no identity":  {"type": "join", "token": sign(jwt.SigningMethodHS256, []byte(testSecret), testKey, noSub)},
		"expired":      {"type": "join"},
		"wrong room":   {"type": "join", "room": "elsewhere", "token": e.token(host("r", "u"), time.Hour)},
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			if name == "expired" {
				// MintToken refuses a negative ttl: sign by hand.
				exp := claims{Room: "r", RegisteredClaims: jwt.RegisteredClaims{Subject: "u", ExpiresAt: jwt.NewNumericDate(now.Add(-time.Minute))}}
				msg["token"] = sign(jwt.SigningMethodHS256, []byte(testSecret), testKey, exp)
			}
			c := e.dial()
			c.sendJSON(msg)
			c.expectError(CodeBadToken)
			c.expectClosed()
		})
	}
	if n := e.sfu.Stats().Participants; n != 0 {
		t.Fatalf("%d participants joined with bad tokens", n)
	}
}

func TestNotJoined(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	for _, first := range []string{`{"type":"offer","target":"publisher","sdp":"v=0"}`, `garbage`, `{"type":"nonsense"}`} {
		c := e.dial()
		c.sendRaw(first)
		c.expectError(CodeNotJoined)
		c.expectClosed()
	}
}

func TestJoinTimeout(t *testing.T) {
	e := newEnv(t, Config{JoinTimeout: 100 * time.Millisecond}, sfu.Config{})
	c := e.dial()
	c.expectError(CodeNotJoined)
	c.expectClosed()
}

func TestBadAndUnknownMessagesKeptThenClosed(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	c := e.dial()
	c.join(e.token(host("r", "u"), time.Hour))
	c.sendRaw(`{"type":"dance"}`)
	c.expectError(CodeUnknownType)
	c.sendRaw(`{"type":"prefer","participant":"x"}`)
	c.expectError(CodeBadMessage)
	c.sendRaw(`{"type":"answer","target":"subscriber","sdp":"v=0"}`) // no offer is outstanding
	c.expectError(CodeBadMessage)
	c.sendRaw(`{"type":"join","token":"again"}`)
	c.expectError(CodeBadMessage)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	c.expectError(CodeBadMessage)
	// The connection still works: a valid message gets no error, and the
	// next bad ones count on to ten.
	c.sendRaw(`{"type":"prefer","participant":"x","layer":"small"}`)
	for i := 5; i < 10; i++ {
		c.sendRaw(`{"type":"bogus"}`)
		c.expectError(CodeUnknownType)
	}
	c.expectClosed()
}

func TestOversizeFrame(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	other := e.dial()
	other.join(e.token(host("r", "other"), time.Hour))
	c := e.dial()
	c.join(e.token(host("r", "u"), time.Hour))
	other.expect("participant_joined")
	c.sendRaw(`{"type":"offer","target":"publisher","sdp":"` + strings.Repeat("a", 70<<10) + `"}`)
	c.expectError(CodeTooLarge)
	c.expectClosed()
	// The room is not disturbed: the other participant hears the leave and
	// stays connected.
	left := other.expect("participant_left")
	if left["participant"] != "u" {
		t.Fatalf("participant_left %v", left)
	}
	other.sendRaw(`{"type":"bogus"}`)
	other.expectError(CodeUnknownType)
}

func TestFloodIsRateLimited(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	other := e.dial()
	other.join(e.token(host("r", "other"), time.Hour))
	c := e.dial()
	c.join(e.token(host("r", "flood"), time.Hour))
	go func() {
		for i := 0; i < 1000; i++ {
			if c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"prefer","participant":"other","layer":"small"}`)) != nil {
				return
			}
		}
	}()
	c.expectError(CodeRateLimited)
	c.expectClosed()
	other.expect("participant_left")
	other.sendRaw(`{"type":"prefer","participant":"x","layer":"small"}`)
	other.sendRaw(`{"type":"bogus"}`)
	other.expectError(CodeUnknownType)
}

func TestForbiddenIsKept(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	c := e.dial()
	c.join(e.token(Grant{Identity: "viewer", Room: "r", Subscribe: true}, time.Hour))
	c.sendRaw(`{"type":"offer","target":"publisher","sdp":"v=0"}`)
	c.expectError(CodeForbidden)
	c.sendRaw(`{"type":"mute","kind":"audio","muted":true}`)
	c.expectError(CodeForbidden)
	c.sendRaw(`{"type":"bogus"}`)
	c.expectError(CodeUnknownType)
}

func TestRoomFull(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{MaxParticipants: 1})
	a := e.dial()
	a.join(e.token(host("r", "a"), time.Hour))
	b := e.dial()
	b.sendJSON(map[string]any{"type": "join", "token": e.token(host("r", "b"), time.Hour)})
	b.expectError(CodeRoomFull)
	b.expectClosed()
}

func TestJoinEventsLeaveAndReplace(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	a := e.dial()
	ja := a.join(e.token(Grant{Identity: "a", Name: "Alice", Room: "r", Publish: true, Subscribe: true}, time.Hour))
	if p := ja["participant"].(map[string]any); p["id"] != "a" || p["name"] != "Alice" || p["publish"] != true {
		t.Fatalf("joined %v", ja)
	}
	if ja["room"] != "r" || ja["mode"] != "meeting" {
		t.Fatalf("joined %v", ja)
	}
	b := e.dial()
	jb := b.join(e.token(Grant{Identity: "b", Room: "r", Subscribe: true}, time.Hour))
	ps := jb["participants"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["id"] != "a" {
		t.Fatalf("b's joined lists %v", ps)
	}
	if pj := a.expect("participant_joined"); pj["participant"].(map[string]any)["id"] != "b" {
		t.Fatalf("%v", pj)
	}
	// A second connection with b's identity replaces the first, which is
	// told why; a sees no leave and no join: b moved, it did not leave.
	b2 := e.dial()
	b2.join(e.token(Grant{Identity: "b", Room: "r", Subscribe: true}, time.Hour))
	b.expectError(CodeReplaced)
	b.expectClosed()
	b2.sendJSON(map[string]any{"type": "leave"})
	b2.expectClosed()
	if l := a.expect("participant_left"); l["participant"] != "b" {
		t.Fatalf("%v", l)
	}
}

func TestServerCloseSendsGoingAway(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	c := e.dial()
	c.join(e.token(host("r", "u"), time.Hour))
	done := make(chan struct{})
	go func() {
		_ = e.srv.Close()
		close(done)
	}()
	_, err := c.read()
	for err == nil {
		_, err = c.read()
	}
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("got %v, want going away", err)
	}
	<-done
	if n := e.sfu.Stats().Participants; n != 0 {
		t.Fatalf("%d participants after close", n)
	}
}

func TestMintVerifyRoundTrip(t *testing.T) {
	v, _ := NewVerifier(testKey, testSecret)
	now := time.Now()
	tok, err := MintToken(testKey, testSecret, Grant{Identity: "i", Room: "r", Subscribe: true}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Verify(tok, now)
	if err != nil || g != (Grant{Identity: "i", Name: "i", Room: "r", Subscribe: true}) {
		t.Fatalf("%+v %v", g, err)
	}
	if _, err := v.Verify(tok, now.Add(2*time.Hour)); err == nil {
		t.Fatal("expired token accepted")
	}
	if _, err := MintToken(testKey, testSecret, Grant{Room: "r"}, time.Hour, now); err == nil {
		t.Fatal("minted a token without identity")
	}
}
