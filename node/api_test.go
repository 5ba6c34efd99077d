package node

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

// apiCall makes one room API call with a token ("" sends none) and decodes
// the answer.
func apiCall(t *testing.T, n *Node, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, n.URL()+strings.TrimPrefix(path, "/"), rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m
}

func adminToken(t *testing.T, n *Node) string {
	t.Helper()
	tok, err := signaling.MintAdminToken(n.cfg.APIKey, n.cfg.APISecret, "test", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// errCode is the code of an error answer.
func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestRoomAPIErrors: every call refuses a missing, bad or non-admin token,
// and answers unknown rooms, participants and tracks and malformed bodies
// with the documented codes.
func TestRoomAPIErrors(t *testing.T) {
	n := startNode(t, Config{SFU: sfuTestConfig()})
	adm := adminToken(t, n)
	user, _ := n.MintToken(signaling.Grant{Identity: "u", Room: "r", Publish: true}, time.Hour)
	calls := [][2]string{
		{"GET", "/api/rooms"}, {"POST", "/api/rooms"}, {"GET", "/api/rooms/r"}, {"DELETE", "/api/rooms/r"},
		{"GET", "/api/rooms/r/participants"}, {"GET", "/api/rooms/r/participants/p"},
		{"DELETE", "/api/rooms/r/participants/p"}, {"POST", "/api/rooms/r/participants/p/mute"},
		{"POST", "/api/rooms/r/participants/p/permissions"}, {"POST", "/api/rooms/r/data"},
	}
	for _, c := range calls {
		for tok, want := range map[string]struct {
			status int
			code   string
		}{"": {401, "unauthorized"}, "x.y.z": {401, "unauthorized"}, user: {403, "forbidden"}} {
			if st, m := apiCall(t, n, c[0], c[1], tok, "{}"); st != want.status || errCode(m) != want.code {
				t.Errorf("%s %s with token %.10q: %d %v, want %d %s", c[0], c[1], tok, st, m, want.status, want.code)
			}
		}
	}
	notFound := map[[2]string]string{
		{"GET", "/api/rooms/r"}: "room_not_found", {"DELETE", "/api/rooms/r"}: "room_not_found",
		{"GET", "/api/rooms/r/participants"}: "room_not_found", {"GET", "/api/rooms/r/participants/p"}: "room_not_found",
		{"DELETE", "/api/rooms/r/participants/p"}: "room_not_found",
	}
	for c, code := range notFound {
		if st, m := apiCall(t, n, c[0], c[1], adm, ""); st != 404 || errCode(m) != code {
			t.Errorf("%s %s: %d %v, want 404 %s", c[0], c[1], st, m, code)
		}
	}
	bad := []struct{ method, path, body string }{
		{"POST", "/api/rooms", ""},
		{"POST", "/api/rooms", "{"},
		{"POST", "/api/rooms", `{"name":""}`},
		{"POST", "/api/rooms", `{"name":"x","mode":"party"}`},
		{"POST", "/api/rooms", `{"name":"x","max_participants":-1}`},
		{"POST", "/api/rooms", `{"name":"x","colour":"red"}`},
		{"POST", "/api/rooms/r/participants/p/mute", `{"kind":"audio"}`},
		{"POST", "/api/rooms/r/participants/p/mute", `{"muted":true}`},
		{"POST", "/api/rooms/r/participants/p/permissions", `{}`},
		{"POST", "/api/rooms/r/participants/p/permissions", `{"publish":"yes"}`},
		{"POST", "/api/rooms/r/data", `{"topic":"t"}`},
		{"POST", "/api/rooms/r/data", `[1,2]`},
	}
	for _, c := range bad {
		if st, m := apiCall(t, n, c.method, c.path, adm, c.body); st != 400 || errCode(m) != "bad_request" {
			t.Errorf("%s %s %q: %d %v, want 400 bad_request", c.method, c.path, c.body, st, m)
		}
	}
	if st, m := apiCall(t, n, "POST", "/api/rooms", adm, `{"name":"x","payload":"`+strings.Repeat("a", maxAPIBody)+`"}`); st != 413 || errCode(m) != "too_large" {
		t.Errorf("oversize body: %d %v", st, m)
	}
}

// TestRoomAPI exercises every call on one node with real participants.
func TestRoomAPI(t *testing.T) {
	n := startNode(t, Config{SFU: sfuTestConfig()})
	adm := adminToken(t, n)
	if st, m := apiCall(t, n, "GET", "/api/rooms", adm, ""); st != 200 || len(m["rooms"].([]any)) != 0 {
		t.Fatalf("empty list: %d %v", st, m)
	}
	alice := joinWS(t, n, signaling.Grant{Identity: "alice", Name: "Alice", Room: "r", Publish: true, Subscribe: true},
		sfutest.Options{Layers: []string{"s", "l"}, Audio: true})
	bob := joinWS(t, n, signaling.Grant{Identity: "bob", Room: "r", Subscribe: true}, sfutest.Options{Subscribe: true})
	bob.waitRecv("alice's video", func(s sfutest.TrackStats) bool { return s.Kind == "video" && s.Packets > 5 })

	// List: both participants, alice's two tracks, the node and region.
	var video string
	st, m := apiCall(t, n, "GET", "/api/rooms", adm, "")
	rooms := m["rooms"].([]any)
	if st != 200 || len(rooms) != 1 {
		t.Fatalf("list: %d %v", st, m)
	}
	room := rooms[0].(map[string]any)
	parts := room["participants"].([]any)
	if room["name"] != "r" || room["mode"] != "meeting" || len(parts) != 2 {
		t.Fatalf("room: %v", room)
	}
	a := parts[0].(map[string]any)
	if a["identity"] != "alice" || a["name"] != "Alice" || a["node"] != "dev" || a["region"] != "local" || len(a["tracks"].([]any)) != 2 {
		t.Fatalf("alice: %v", a)
	}
	for _, tr := range a["tracks"].([]any) {
		if tr := tr.(map[string]any); tr["kind"] == "video" {
			video = tr["id"].(string)
		}
	}
	if st, m := apiCall(t, n, "GET", "/api/rooms/r/participants/bob", adm, ""); st != 200 || m["identity"] != "bob" {
		t.Fatalf("get bob: %d %v", st, m)
	}
	if st, m := apiCall(t, n, "GET", "/api/rooms/r/participants/carol", adm, ""); st != 404 || errCode(m) != "participant_not_found" {
		t.Fatalf("unknown participant: %d %v", st, m)
	}

	// Mute alice's video: bob and alice are told, the list shows it.
	if st, m := apiCall(t, n, "POST", "/api/rooms/r/participants/alice/mute", adm, `{"track":"`+video+`","muted":true}`); st != 200 {
		t.Fatalf("mute: %d %v", st, m)
	}
	for _, p := range []*wsPeer{alice, bob} {
		p.wait("track_muted", func(m map[string]any) bool {
			return m["type"] == "track_muted" && m["track"] == video && m["muted"] == true
		})
	}
	if st, m := apiCall(t, n, "POST", "/api/rooms/r/participants/alice/mute", adm, `{"track":"TR_nope","muted":true}`); st != 404 || errCode(m) != "track_not_found" {
		t.Fatalf("unknown track: %d %v", st, m)
	}
	if st, m := apiCall(t, n, "POST", "/api/rooms/r/participants/carol/mute", adm, `{"kind":"audio","muted":true}`); st != 404 || errCode(m) != "participant_not_found" {
		t.Fatalf("mute unknown participant: %d %v", st, m)
	}

	// Permissions: bob may no longer subscribe, then may again; he is told.
	st, m = apiCall(t, n, "POST", "/api/rooms/r/participants/bob/permissions", adm, `{"subscribe":false}`)
	if perms, _ := m["permissions"].(map[string]any); st != 200 || perms["subscribe"] != false || perms["publish"] != false || perms["data"] != true {
		t.Fatalf("permissions: %d %v", st, m)
	}
	bob.wait("permissions", func(m map[string]any) bool { return m["type"] == "permissions" && m["subscribe"] == false })
	if st, _ := apiCall(t, n, "POST", "/api/rooms/r/participants/bob/permissions", adm, `{"subscribe":true,"publish":true}`); st != 200 {
		t.Fatalf("grant back: %d", st)
	}
	bob.wait("permissions back", func(m map[string]any) bool {
		return m["type"] == "permissions" && m["subscribe"] == true && m["publish"] == true
	})

	// Data to the room reaches both; to bob only, one.
	if st, m := apiCall(t, n, "POST", "/api/rooms/r/data", adm, `{"topic":"news","payload":"hello"}`); st != 200 || m["delivered"] != 2.0 {
		t.Fatalf("data: %d %v", st, m)
	}
	alice.wait("data", func(m map[string]any) bool {
		return m["type"] == "data" && m["payload"] == "hello" && m["topic"] == "news"
	})
	if st, m := apiCall(t, n, "POST", "/api/rooms/r/data", adm, `{"payload":"psst","identities":["bob"]}`); st != 200 || m["delivered"] != 1.0 {
		t.Fatalf("data to bob: %d %v", st, m)
	}
	bob.wait("data to bob", func(m map[string]any) bool { return m["type"] == "data" && m["payload"] == "psst" })

	// Create: a held live room with options; a second create is refused.
	st, m = apiCall(t, n, "POST", "/api/rooms", adm, `{"name":"held","mode":"live","max_participants":1,"empty_timeout":60}`)
	if st != 201 || m["mode"] != "live" || m["max_participants"] != 1.0 || m["empty_timeout"] != 60.0 {
		t.Fatalf("create: %d %v", st, m)
	}
	if st, m := apiCall(t, n, "POST", "/api/rooms", adm, `{"name":"held"}`); st != 409 || errCode(m) != "room_exists" {
		t.Fatalf("create twice: %d %v", st, m)
	}
	if st, m := apiCall(t, n, "POST", "/api/rooms", adm, `{"name":"elsewhere","node":"nowhere"}`); st != 404 || errCode(m) != "node_not_found" {
		t.Fatalf("create on unknown node: %d %v", st, m)
	}
	if st, m := apiCall(t, n, "GET", "/api/rooms/held", adm, ""); st != 200 || m["mode"] != "live" || len(m["participants"].([]any)) != 0 {
		t.Fatalf("held room: %d %v", st, m)
	}
	// Its limit holds: a second participant gets room_full.
	joinWS(t, n, signaling.Grant{Identity: "h1", Room: "held", Subscribe: true}, sfutest.Options{Subscribe: true})
	tok, _ := n.MintToken(signaling.Grant{Identity: "h2", Room: "held", Subscribe: true}, time.Hour)
	ws := dialWS(t, n)
	_ = ws.WriteJSON(map[string]any{"type": "join", "token": tok})
	var reply map[string]any
	if err := ws.ReadJSON(&reply); err != nil || reply["code"] != "room_full" {
		t.Fatalf("second join into a room of 1: %v %v", reply, err)
	}

	// Remove bob: his websocket closes, he leaves the list.
	if st, m := apiCall(t, n, "DELETE", "/api/rooms/r/participants/bob", adm, ""); st != 200 || m["node"] != "dev" {
		t.Fatalf("remove: %d %v", st, m)
	}
	waitClosed(t, bob)
	if st, m := apiCall(t, n, "GET", "/api/rooms/r/participants/bob", adm, ""); st != 404 {
		t.Fatalf("bob after removal: %d %v", st, m)
	}

	// Close the room: alice is disconnected and the room is gone.
	if st, m := apiCall(t, n, "DELETE", "/api/rooms/r", adm, ""); st != 200 || m["removed"] != 1.0 {
		t.Fatalf("close: %d %v", st, m)
	}
	waitClosed(t, alice)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, _ := apiCall(t, n, "GET", "/api/rooms/r", adm, ""); st == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("room r still listed after close")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitClosed(t *testing.T, p *wsPeer) {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("websocket still open")
	}
}
