package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

// sigClient is a signaling client for tests: it joins over the websocket,
// records every message, and when given a synthetic pion client carries
// its offers, answers and candidates.
type sigClient struct {
	t    *testing.T
	ws   *websocket.Conn
	wmu  sync.Mutex
	pion *sfutest.Client

	mu   sync.Mutex
	msgs []map[string]any
	cond chan struct{} // closed and replaced on every message
}

func dialClient(t *testing.T, n *node.Node, g signaling.Grant, opts *sfutest.Options) *sigClient {
	t.Helper()
	c := joinWithoutPublish(t, n, g, opts)
	if opts != nil && len(opts.Layers)+btoi(opts.Audio) > 0 {
		if err := c.pion.Publish(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// joinWithoutPublish is dialClient without the publish: the caller publishes
// (c.pion.Publish) when it wants to.
func joinWithoutPublish(t *testing.T, n *node.Node, g signaling.Grant, opts *sfutest.Options) *sigClient {
	t.Helper()
	tok, err := n.MintToken(g, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.URL(), "http")+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &sigClient{t: t, ws: ws, cond: make(chan struct{})}
	if opts != nil {
		if c.pion, err = sfutest.New(*opts, c.fromPion); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.pion.Close() })
	}
	t.Cleanup(func() { _ = ws.Close() })
	c.send(map[string]any{"type": "join", "token": tok})
	go c.read()
	c.wait("joined", func(m map[string]any) bool { return m["type"] == "joined" })
	return c
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (c *sigClient) send(v any) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteJSON(v)
}

func (c *sigClient) fromPion(o sfutest.Out) {
	m := map[string]any{"type": o.Type, "target": o.Target}
	if o.SDP != "" {
		m["sdp"] = o.SDP
	}
	if o.Type == "candidate" {
		m["candidate"] = o.Candidate
	}
	c.send(m)
}

func (c *sigClient) read() {
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if c.pion != nil {
			c.toPion(m, b)
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		close(c.cond)
		c.cond = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *sigClient) toPion(m map[string]any, b []byte) {
	switch m["type"] {
	case "offer":
		_ = c.pion.HandleOffer(m["sdp"].(string))
	case "answer":
		_ = c.pion.HandleAnswer(m["sdp"].(string))
	case "candidate":
		var cm struct {
			Target    string                   `json:"target"`
			Candidate *webrtc.ICECandidateInit `json:"candidate"`
		}
		if json.Unmarshal(b, &cm) == nil {
			_ = c.pion.HandleCandidate(cm.Target, cm.Candidate)
		}
	}
}

// wait waits for a message matching f (among all so far) and returns it.
func (c *sigClient) wait(what string, f func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.After(20 * time.Second)
	for i := 0; ; {
		c.mu.Lock()
		for ; i < len(c.msgs); i++ {
			if f(c.msgs[i]) {
				m := c.msgs[i]
				c.mu.Unlock()
				return m
			}
		}
		cond := c.cond
		c.mu.Unlock()
		select {
		case <-cond:
		case <-deadline:
			c.t.Fatalf("no message %s", what)
		}
	}
}

func (c *sigClient) count(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m["type"] == typ {
			n++
		}
	}
	return n
}

// TestGraceExpiryLeavesEverywhere: a publisher on node a loses its
// websocket and never comes back. Through its grace period nothing
// changes for a watcher on node b, across the trunk; when it ends, the
// publisher leaves and its tracks go, on both nodes.
func TestGraceExpiryLeavesEverywhere(t *testing.T) {
	const grace = 1500 * time.Millisecond
	spec := networkSpec{
		Nodes:  []nodeSpec{{"a-1", "eu", "access"}, {"b-1", "us", "access"}},
		Trunks: [][2]string{{"a-1", "b-1"}},
		Link:   netsim.LinkConfig{Delay: 2 * time.Millisecond},
		Tune:   func(c *node.Config) { c.Signaling.ResumeGrace = grace },
	}
	net, err := startNetwork(context.Background(), spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	a, b := net.Node("a-1"), net.Node("b-1")
	watcher := dialClient(t, b, signaling.Grant{Identity: "w", Room: "g"}, nil)
	dialClient(t, a, signaling.Grant{Identity: "p", Room: "g", Publish: true}, &sfutest.Options{Layers: []string{""}, Audio: true})
	for range 2 {
		watcher.wait("the publisher's tracks on b", func(m map[string]any) bool { return m["type"] == "track_published" && m["participant"] == "p" })
	}
	if n := a.Signaling().DropConnections(); n != 1 {
		t.Fatalf("cut %d websockets", n)
	}
	cut := time.Now()
	left := watcher.wait("p leaving", func(m map[string]any) bool { return m["type"] == "participant_left" && m["participant"] == "p" })
	if d := time.Since(cut); d < grace*9/10 {
		t.Errorf("p left %v after its websocket was cut, within its %v grace period (%v)", d, grace, left)
	}
	if n := watcher.count("track_unpublished"); n != 2 {
		t.Errorf("b's watcher saw %d tracks unpublished, want 2", n)
	}
	// The participant leaves (and b hears of it) before the session that
	// held it is marked ended: the counters settle a moment later.
	st := a.Signaling().SessionStats()
	for deadline := time.Now().Add(5 * time.Second); (st.Expired != 1 || st.Held != 0) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		st = a.Signaling().SessionStats()
	}
	if st.Expired != 1 || st.Held != 0 {
		t.Errorf("a's session stats %+v", st)
	}
	for _, n := range []*node.Node{a, b} {
		if r := n.SFU().Room("g"); r != nil && r.Participant("p") != nil {
			t.Errorf("%s still has p", n.Name())
		}
	}
}

// TestDuplicateIdentityNewestWins: one identity joins on node a, then again
// on node b. The newer session wins: a's is closed with `replaced`, and a
// watcher on a sees the participant stay (no leave, no second join) while
// its tracks move to b's.
func TestDuplicateIdentityNewestWins(t *testing.T) {
	spec := networkSpec{
		Nodes:  []nodeSpec{{"a-1", "eu", "access"}, {"b-1", "eu", "access"}},
		Trunks: [][2]string{{"a-1", "b-1"}},
		Link:   netsim.LinkConfig{Delay: 2 * time.Millisecond},
	}
	net, err := startNetwork(context.Background(), spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	a, b := net.Node("a-1"), net.Node("b-1")
	watcher := dialClient(t, a, signaling.Grant{Identity: "w", Room: "d"}, nil)
	grant := signaling.Grant{Identity: "x", Room: "d", Publish: true}
	first := dialClient(t, a, grant, &sfutest.Options{Audio: true})
	watcher.wait("x's track from a", func(m map[string]any) bool { return m["type"] == "track_published" && m["participant"] == "x" })
	time.Sleep(10 * time.Millisecond) // a later session start, to the millisecond
	dialClient(t, b, grant, &sfutest.Options{Audio: true})
	first.wait("replaced", func(m map[string]any) bool { return m["type"] == "error" && m["code"] == "replaced" })
	// x's track from b reaches a's watcher through the trunk.
	deadline := time.Now().Add(20 * time.Second)
	for watcher.count("track_published") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("x's track from b never reached a's watcher")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := watcher.count("participant_left") + watcher.count("participant_joined"); n != 1 {
		// The one join is x's first, before the duplicate.
		t.Errorf("the watcher saw %d joins and leaves, want only x's first join", n)
	}
	if p := a.SFU().Room("d").Participant("x"); p == nil || !p.Remote() {
		t.Errorf("x on a is %v, want b's mirror", p)
	}
}
