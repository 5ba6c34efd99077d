package signaling

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// drop cuts the client's TCP connection without a close frame, as a
// broken network does.
func (c *client) drop() { _ = c.ws.UnderlyingConn().Close() }

func resumeToken(t *testing.T, m map[string]any) string {
	t.Helper()
	r, _ := m["resume"].(map[string]any)
	tok, _ := r["token"].(string)
	if tok == "" {
		t.Fatalf("no resume token in %v", m)
	}
	return tok
}

// TestResumeIsTheSameParticipant: a websocket cut without a leave holds
// the participant; a resume with its token brings it back as the same
// participant, with the room as it is now (a joiner it missed), and the
// others see neither a leave nor a join. The used token is refused
// afterwards, and a leave then makes it leave.
func TestResumeIsTheSameParticipant(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 5 * time.Second}, sfu.Config{})
	a := e.dial()
	a.join(e.token(host("r", "a"), time.Hour))
	b := e.dial()
	jb := b.join(e.token(host("r", "b"), time.Hour))
	tok := resumeToken(t, jb)
	if n := jb["node"].(map[string]any); n["name"] != "dev" {
		t.Errorf("joined names node %v", n)
	}
	a.expect("participant_joined")
	b.drop()
	waitHeld(t, e, 1)
	c := e.dial()
	c.join(e.token(host("r", "c"), time.Hour))
	a.expect("participant_joined") // c

	b2 := e.dial()
	b2.sendJSON(map[string]any{"type": "resume", "token": tok})
	r := b2.expect("resumed")
	if p := r["participant"].(map[string]any); p["id"] != "b" {
		t.Fatalf("resumed as %v", p)
	}
	ids := map[string]bool{}
	for _, p := range r["participants"].([]any) {
		ids[p.(map[string]any)["id"].(string)] = true
	}
	if !ids["a"] || !ids["c"] || len(ids) != 2 {
		t.Errorf("resumed lists %v, want a and c", ids)
	}
	if resumeToken(t, r) == tok {
		t.Error("the resumed session kept its old token")
	}
	if st := e.srv.SessionStats(); st.Resumed != 1 || st.Held != 0 {
		t.Errorf("stats %+v", st)
	}
	// The old token is spent.
	b3 := e.dial()
	b3.sendJSON(map[string]any{"type": "resume", "token": tok})
	b3.expectError(CodeBadResume)
	b3.expectClosed()

	b2.sendJSON(map[string]any{"type": "leave"})
	b2.expectClosed()
	// a's first message about b since the cut is its leave.
	for {
		m := a.next()
		if m["type"] == "participant_left" && m["participant"] == "b" {
			break
		}
		if m["type"] == "participant_left" || m["type"] == "participant_joined" {
			t.Fatalf("a saw %v during b's resume", m)
		}
	}
}

func waitHeld(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.SessionStats().Held != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions held, want %d", e.srv.SessionStats().Held, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestResumeRefused: malformed, forged, foreign and expired tokens are
// refused with their codes, and after the grace period the participant
// has left and its token says so.
func TestResumeRefused(t *testing.T) {
	e := newEnv(t, Config{ResumeGrace: 400 * time.Millisecond}, sfu.Config{})
	a := e.dial()
	a.join(e.token(host("r", "a"), time.Hour))
	b := e.dial()
	jb := b.join(e.token(host("r", "b"), time.Hour))
	tok := resumeToken(t, jb)
	a.expect("participant_joined")

	now := time.Now()
	g := resumeGrant{identity: "b", room: "r", session: "x", node: "dev"}
	cases := []struct{ name, token, code string }{
		{"garbage", "not-a-jwt", CodeBadResume},
		{"an access token", e.token(host("r", "b"), time.Hour), CodeBadResume},
		{"another secret", mintResume(resumeKey("another-secret-entirely"), g, time.Minute, now), CodeBadResume},
		{"another node", mintResume(e.srv.resumeKey, resumeGrant{identity: "b", room: "r", session: "x", node: "eu-2"}, time.Minute, now), CodeBadResume},
		{"expired", mintResume(e.srv.resumeKey, g, time.Minute, now.Add(-2*time.Minute)), CodeResumeExpired},
		{"unknown session", mintResume(e.srv.resumeKey, g, time.Minute, now), CodeResumeExpired},
	}
	for _, tc := range cases {
		c := e.dial()
		c.sendJSON(map[string]any{"type": "resume", "token": tc.token})
		m := c.next()
		if m["type"] != "error" || m["code"] != tc.code {
			t.Errorf("%s: got %v, want error %s", tc.name, m, tc.code)
		}
		c.expectClosed()
	}

	// Grace expiry: b is cut and does not come back.
	b.drop()
	if l := a.expect("participant_left"); l["participant"] != "b" {
		t.Fatalf("%v", l)
	}
	c := e.dial()
	c.sendJSON(map[string]any{"type": "resume", "token": tok})
	c.expectError(CodeResumeExpired)
	if st := e.srv.SessionStats(); st.Expired != 1 || st.Refused != uint64(len(cases))+1 {
		t.Errorf("stats %+v", st)
	}
}

// TestResumeTakesOverALiveConnection: a client that thinks its websocket
// died while the node still has it (a half-open TCP connection) resumes;
// the old connection is closed, and the token is refreshed periodically.
func TestResumeTakesOverALiveConnection(t *testing.T) {
	e := newEnv(t, Config{PingInterval: 200 * time.Millisecond}, sfu.Config{})
	b := e.dial()
	tok := resumeToken(t, b.join(e.token(host("r", "b"), time.Hour)))
	if fresh := resumeToken(t, b.expect("resume_token")); fresh == tok {
		t.Error("the refreshed token is the same")
	}
	b2 := e.dial()
	b2.sendJSON(map[string]any{"type": "resume", "token": tok})
	b2.expect("resumed")
	b.expectClosed()
	if n := e.sfu.Stats().Participants; n != 1 {
		t.Errorf("%d participants, want 1", n)
	}
}

// TestDrainingRefusesJoins: a draining node refuses new joins with
// `draining`, and Migrate tells a client where to go.
func TestDrainingRefusesJoins(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	a := e.dial()
	a.join(e.token(host("r", "a"), time.Hour))
	e.srv.SetDraining(true)
	b := e.dial()
	b.sendJSON(map[string]any{"type": "join", "token": e.token(host("r", "b"), time.Hour)})
	b.expectError(CodeDraining)
	refs := e.srv.Sessions()
	if len(refs) != 1 || refs[0].Identity != "a" || !refs[0].Attached {
		t.Fatalf("sessions %+v", refs)
	}
	if !e.srv.Migrate(refs[0].ID, Alternative{Node: "eu-2", Region: "eu", URL: "http://eu-2/"}, "drain") {
		t.Fatal("migrate refused")
	}
	m := a.expect("migrate")
	if m["node"] != "eu-2" || m["url"] != "http://eu-2/" || m["reason"] != "drain" {
		t.Errorf("migrate %v", m)
	}
}
