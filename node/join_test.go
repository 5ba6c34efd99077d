package node

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

type joinReply struct {
	Node, Region, URL, Token, Identity, Summary, Reason, Code, Error string
	Reasons                                                          []string
	Alternatives                                                     []struct{ Node, Region, URL string }
	Probes                                                           []struct{ Node, Region, URL string }
}

func getJoin(t *testing.T, base, query string, hdr ...string) (int, joinReply) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"api/join?"+query, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r joinReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return resp.StatusCode, r
}

// TestJoinStandalone: a development node with no trunk schedules onto
// itself, mints a token for it, and explains; bad requests get clear
// errors with stable codes.
func TestJoinStandalone(t *testing.T) {
	n := startNode(t, Config{Name: "solo", Region: "eu", Dev: true, SFU: sfuTestConfig(),
		Scheduler: JoinConfig{Rate: 1000, Burst: 1000}})
	code, r := getJoin(t, n.URL(), "room=r&name=Ann&region=eu")
	if code != 200 || r.Node != "solo" || r.Region != "eu" || r.URL != n.URL() || r.Token == "" || len(r.Reasons) == 0 {
		t.Fatalf("%d %+v", code, r)
	}
	if len(r.Probes) != 0 || len(r.Alternatives) != 0 {
		t.Errorf("one node: no probes or alternatives: %+v", r)
	}
	if !strings.HasPrefix(r.Summary, "solo · ") {
		t.Errorf("summary %q", r.Summary)
	}
	v, _ := signaling.NewVerifier(n.APIKey(), n.cfg.APISecret)
	g, err := v.Verify(r.Token, time.Now())
	if err != nil || g.Room != "r" || g.Name != "Ann" || g.Identity != r.Identity || !g.Publish {
		t.Fatalf("token %+v %v", g, err)
	}
	// Asking again with the identity keeps it (the client's second call,
	// after probing).
	if _, r2 := getJoin(t, n.URL(), "room=r&name=Ann&role=viewer&rtt=solo:3&identity="+url.QueryEscape(r.Identity)); r2.Identity != r.Identity {
		t.Errorf("identity %q, then %q", r.Identity, r2.Identity)
	}

	for _, tc := range []struct{ query, code string }{
		{"name=Ann", "bad_request"},
		{"room=r&region=EU!", "bad_hint"},
		{"room=r&rtt=solo", "bad_probe"},
		{"room=r&rtt=solo:-4", "bad_probe"},
		{"room=r&policy=round-robin", "unknown_policy"},
		{"room=r&role=king", "bad_request"},
		{"room=r&node=elsewhere", "pinned_unavailable"},
		{"room=r&token=garbage", "bad_token"},
	} {
		code, r := getJoin(t, n.URL(), tc.query)
		if code < 400 || r.Code != tc.code || r.Error == "" {
			t.Errorf("%s: %d %+v, want %s", tc.query, code, r, tc.code)
		}
	}
	tok, _ := n.MintToken(signaling.Grant{Identity: "x", Room: "other"}, time.Minute)
	if code, r := getJoin(t, n.URL(), "room=r", "Authorization", "Bearer "+tok); code != 403 || r.Code != "wrong_room" {
		t.Errorf("token for another room: %d %+v", code, r)
	}
	tok, _ = n.MintToken(signaling.Grant{Identity: "carl", Name: "Carl", Room: "r", Subscribe: true}, time.Minute)
	if code, r := getJoin(t, n.URL(), "room=r", "Authorization", "Bearer "+tok); code != 200 || r.Identity != "carl" {
		t.Errorf("a caller's token: %d %+v", code, r)
	}

	n.SetDraining(true)
	code, r = getJoin(t, n.URL(), "room=r&name=Bob")
	if code != 503 || r.Code != "no_healthy_node" || !strings.Contains(r.Error, "solo: draining") {
		t.Fatalf("draining: %d %+v", code, r)
	}
	n.SetDraining(false)
	if code, _ := getJoin(t, n.URL(), "room=r&name=Bob"); code != 200 {
		t.Fatalf("after the drain: %d", code)
	}
	_, m := get(t, n.URL()+"metrics")
	for _, want := range []string{`qrtn_sched_decisions_total{node="solo",reason="hint"} 1`, `qrtn_sched_errors_total{code="bad_hint"} 1`,
		`qrtn_sched_probe_rtt_ms_count{node="solo"} 1`, `qrtn_sched_node_load{node="solo"} 0`, "qrtn_sched_load_spread 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestJoinNeedsTokenOutsideDev: without dev mode nothing is minted and a
// token is required.
func TestJoinNeedsTokenOutsideDev(t *testing.T) {
	n := startNode(t, Config{Name: "prod", SFU: sfuTestConfig()})
	if code, r := getJoin(t, n.URL(), "room=r&name=Ann"); code != 401 || r.Code != "token_required" {
		t.Fatalf("%d %+v", code, r)
	}
}

// TestJoinRateLimit: one client's burst is cut off with 429; pings too.
func TestJoinRateLimit(t *testing.T) {
	n := startNode(t, Config{Name: "solo", Dev: true, SFU: sfuTestConfig(), Scheduler: JoinConfig{Rate: 1, Burst: 5}})
	limited := 0
	for range 12 {
		code, r := getJoin(t, n.URL(), "room=r")
		if code == 429 {
			if r.Code != "rate_limited" {
				t.Fatalf("%+v", r)
			}
			limited++
		}
	}
	if limited < 5 {
		t.Fatalf("%d of 12 limited", limited)
	}
	if code, _ := get(t, n.URL()+"api/ping"); code != 429 {
		t.Errorf("ping after the burst: %d", code)
	}
}

// TestPing: the probe target answers small, uncached and timeable from
// any origin, after the emulated delay.
func TestPing(t *testing.T) {
	n := startNode(t, Config{Name: "p", Region: "ap", SFU: sfuTestConfig(), Scheduler: JoinConfig{PingDelay: 60 * time.Millisecond}})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp, err := http.Get(n.URL() + "api/ping")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var body struct{ Node, Region string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if body.Node != "p" || body.Region != "ap" || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
				resp.Header.Get("Timing-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%+v %v", body, resp.Header)
			}
			if d := time.Since(start); d < 60*time.Millisecond {
				t.Errorf("answered in %v, before the emulated delay", d)
			}
		}()
	}
	wg.Wait()
}
