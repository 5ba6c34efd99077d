package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/signaling"
)

// joinAnswer is the part of GET /api/join's answer the tests read.
type joinAnswer struct {
	Node, Region, URL, Token, Identity, Reason, Summary, Code, Error string
	Reasons                                                          []string
	Alternatives                                                     []struct {
		Node, Region, URL string
		Score             float64
	}
	Excluded []struct{ Node, Why string }
	Probes   []struct{ Node, Region, URL string }
}

func askJoin(t testing.TB, base, query string) (int, joinAnswer) {
	t.Helper()
	resp, err := http.Get(base + "api/join?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a joinAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, a
}

// threeRegions is a demo network with an access node in eu, us and ap and
// one forwarding node, on short clean trunks, every node answering joins
// without rate limits (tests ask often from one address). tune, when set,
// changes every node's scheduler configuration.
func threeRegions(t *testing.T, ctx context.Context, tune func(*node.JoinConfig)) *network {
	t.Helper()
	spec := networkSpec{
		Nodes: []nodeSpec{{"eu-1", "eu", "access"}, {"us-1", "us", "access"}, {"ap-1", "ap", "access"},
			{"fwd-1", "backbone-1", "forwarding"}},
		Trunks: [][2]string{{"ap-1", "fwd-1"}, {"eu-1", "fwd-1"}, {"us-1", "fwd-1"}},
		Link:   netsim.LinkConfig{Delay: 5 * time.Millisecond},
		Tune: func(c *node.Config) {
			c.Scheduler.Rate, c.Scheduler.Burst = 1000, 1000
			if tune != nil {
				tune(&c.Scheduler)
			}
		},
	}
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	// Every access node's scheduler sees the three access nodes.
	deadline := time.Now().Add(15 * time.Second)
	for _, name := range []string{"eu-1", "us-1", "ap-1"} {
		for {
			code, a := askJoin(t, net.Node(name).URL(), "room=warmup&name=w")
			if code == 200 && len(a.Alternatives) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %d other access nodes: %d %+v", name, len(a.Alternatives), code, a)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return net
}

// TestSchedulingAcrossRegions: any node places users by hint or measured
// RTT onto the right region's node, with its URL and a way to get a token;
// a drained node is avoided at once (by its own scheduler at once, by the
// others as soon as its flooded link state arrives), and a stopped node as
// soon as its neighbours report their trunks to it down.
func TestSchedulingAcrossRegions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := threeRegions(t, ctx, nil)
	entry := net.Node("ap-1").URL()
	for _, tc := range []struct{ query, want, reason string }{
		{"room=a1&name=x&region=us", "us-1", "hint"},
		{"room=a2&name=x&region=eu", "eu-1", "hint"},
		{"room=a3&name=x", "ap-1", "entry"},
		{"room=a4&name=x&region=ap&rtt=eu-1:80,us-1:9,ap-1:160", "us-1", "rtt"},
		{"room=a5&name=x&node=eu-1", "eu-1", "pinned"},
		{"room=a1&name=y&region=eu&rtt=eu-1:1,us-1:1,ap-1:1", "eu-1", "hint"}, // loopback probes decide nothing
	} {
		code, a := askJoin(t, entry, tc.query)
		if code != 200 || a.Node != tc.want || a.Reason != tc.reason || a.URL != net.Node(tc.want).URL() {
			t.Fatalf("%s: %d %+v, want %s by %s", tc.query, code, a, tc.want, tc.reason)
		}
		if a.Identity == "" || a.Token == "" {
			// The demo's nodes share the network's API key and secret (the
			// api_key line): the entry node signs for whichever it chose.
			t.Errorf("%s: identity %q, token %q", tc.query, a.Identity, a.Token)
		}
	}
	// A forwarding node schedules too (it holds the same link state; not
	// in dev mode, it wants a token), but is never chosen.
	fwd := net.Node("fwd-1")
	tok, err := fwd.MintToken(signaling.Grant{Identity: "x", Room: "a7", Subscribe: true}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, a := askJoin(t, fwd.URL(), "room=a7&name=x&region=ap"); code != 401 || a.Code != "token_required" {
		t.Errorf("forwarding node without a token: %d %+v", code, a)
	}
	if code, a := askJoin(t, fwd.URL(), "room=a7&region=ap&token="+tok); code != 200 || a.Node != "ap-1" {
		t.Errorf("forwarding node's answer: %d %+v", code, a)
	}
	if _, a := askJoin(t, entry, "room=a6&name=x"); len(a.Probes) != 3 {
		t.Errorf("probe targets %+v, want one per region", a.Probes)
	}

	// History filled in by the quality plane moves the choice: users of
	// this network (the test's loopback /24) had a bad time on us-1.
	net.Node("ap-1").JoinHistory().Replace(map[scheduler.Scope]map[string]scheduler.Quality{
		scheduler.NetworkOf(netip.MustParseAddr("127.0.0.1")): {"us-1": {Calls: 50, StallRate: 0.5, JoinFailRate: 0.3}},
	})
	if code, a := askJoin(t, entry, "room=h1&name=x&region=us"); code != 200 || a.Node == "us-1" || a.Reason != "history" {
		t.Errorf("history did not move the choice: %d %+v", code, a)
	}
	net.Node("ap-1").JoinHistory().Replace(nil)

	// Drain eu-1: its own scheduler stops choosing it at once, ap-1's
	// within the flood of one link-state record.
	net.Node("eu-1").SetDraining(true)
	if _, a := askJoin(t, net.Node("eu-1").URL(), "room=b&name=x&region=eu"); a.Node == "eu-1" {
		t.Fatalf("the draining node chose itself: %+v", a)
	}
	drained := time.Now()
	for {
		_, a := askJoin(t, entry, "room=b&name=x&region=eu")
		if a.Node != "eu-1" {
			if !excluded(a, "eu-1", "draining") {
				t.Errorf("eu-1 not listed as draining: %+v", a.Excluded)
			}
			t.Logf("ap-1 avoids the drained node after %v", time.Since(drained).Round(time.Millisecond))
			break
		}
		if time.Since(drained) > 3*time.Second {
			t.Fatalf("ap-1 still sends users to the draining eu-1 after %v", time.Since(drained))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, a := askJoin(t, entry, "room=b&name=x&node=eu-1"); code != 409 || a.Code != "pinned_unavailable" {
		t.Errorf("pinned to a draining node: %d %+v", code, a)
	}
	net.Node("eu-1").SetDraining(false)
	waitJoin(t, entry, "room=b&name=x&region=eu", "eu-1", 3*time.Second)

	// Stop us-1: its trunk closes, fwd-1 floods the trunk down.
	stopped := time.Now()
	_ = net.Node("us-1").Close()
	waitJoin(t, entry, "room=c&name=x&region=us", "!us-1", 5*time.Second)
	t.Logf("ap-1 avoids the stopped node after %v", time.Since(stopped).Round(time.Millisecond))
	_, a := askJoin(t, entry, "room=c&name=x&region=us")
	if !excluded(a, "us-1", "down") {
		t.Errorf("us-1 not listed as down: %+v", a.Excluded)
	}
	// Nothing healthy is said plainly.
	net.Node("eu-1").SetDraining(true)
	net.Node("ap-1").SetDraining(true)
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, a := askJoin(t, entry, "room=d&name=x")
		if code == 503 {
			if a.Code != "no_healthy_node" || !strings.Contains(a.Error, "ap-1: draining") || !strings.Contains(a.Error, "eu-1: draining") {
				t.Errorf("nothing healthy: %+v", a)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing healthy, yet: %d %+v", code, a)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func excluded(a joinAnswer, node, why string) bool {
	for _, e := range a.Excluded {
		if e.Node == node && strings.Contains(e.Why, why) {
			return true
		}
	}
	return false
}

// waitJoin asks until the answer is want ("!x": anything but x).
func waitJoin(t testing.TB, base, query, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, a := askJoin(t, base, query)
		ok := code == 200 && (a.Node == want || strings.HasPrefix(want, "!") && a.Node != want[1:])
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %+v, want %s", query, code, a, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
