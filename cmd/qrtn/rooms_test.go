package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

// wsClient is a synthetic pion participant joined over the signaling
// websocket, recording every message it gets.
type wsClient struct {
	t      *testing.T
	ws     *websocket.Conn
	c      *sfutest.Client
	wmu    sync.Mutex
	mu     sync.Mutex
	msgs   []map[string]any
	closed chan struct{}
}

func joinClient(t *testing.T, n *node.Node, g signaling.Grant, opts sfutest.Options) *wsClient {
	t.Helper()
	tok, err := n.MintToken(g, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+n.HTTPAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &wsClient{t: t, ws: ws, closed: make(chan struct{})}
	if c.c, err = sfutest.New(opts, c.send); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.c.Close()
		_ = ws.Close()
	})
	c.write(map[string]any{"type": "join", "token": tok})
	go c.read()
	c.wait("joined", func(m map[string]any) bool { return m["type"] == "joined" })
	if len(opts.Layers) > 0 || opts.Audio {
		if err := c.c.Publish(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *wsClient) write(v any) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteJSON(v)
}

func (c *wsClient) send(o sfutest.Out) {
	m := map[string]any{"type": o.Type, "target": o.Target}
	if o.Type == "candidate" {
		m["candidate"] = o.Candidate
	} else {
		m["sdp"] = o.SDP
	}
	c.write(m)
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		var m map[string]any
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		switch m["type"] {
		case "answer":
			_ = c.c.HandleAnswer(m["sdp"].(string))
		case "offer":
			_ = c.c.HandleOffer(m["sdp"].(string))
		case "candidate":
			if cm, ok := m["candidate"].(map[string]any); ok {
				b, _ := json.Marshal(cm)
				var init webrtc.ICECandidateInit
				_ = json.Unmarshal(b, &init)
				_ = c.c.HandleCandidate(m["target"].(string), &init)
			}
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	}
}

func (c *wsClient) wait(what string, f func(map[string]any) bool) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, m := range c.msgs {
			if f(m) {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no %s message", what)
}

// cli runs a qrtn subcommand and returns what it printed.
func cli(t *testing.T, run func(context.Context, []string, io.Writer, io.Writer) error, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), err
}

// TestRoomAPIAcrossDemo: in the demo network (two access nodes, two
// forwarding nodes), an operator asking a forwarding node or the other
// access node lists a participant, mutes its video and removes it; the
// node the participant is on carries the commands out, and a subscriber on
// the other access node sees the mute and the departure.
func TestRoomAPIAcrossDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := parseDemoFlags([]string{"--delay", "2ms", "--loss", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := f.network()
	if err != nil {
		t.Fatal(err)
	}
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	eu, us, fwd := net.Node("eu-1"), net.Node("us-1"), net.Node("fwd-1")
	creds := []string{"--api-key", net.APIKey, "--api-secret", net.APISecret}

	alice := joinClient(t, us, signaling.Grant{Identity: "alice", Room: "x", Publish: true, Subscribe: true},
		sfutest.Options{Layers: []string{""}, Audio: true})
	bob := joinClient(t, eu, signaling.Grant{Identity: "bob", Room: "x", Subscribe: true}, sfutest.Options{Subscribe: true})

	// The forwarding node lists both, each on its own node, with tracks.
	var video string
	deadline := time.Now().Add(15 * time.Second)
	for video == "" {
		out, err := cli(t, runParticipants, append([]string{"list", "x", "--json", "--url", fwd.URL()}, creds...)...)
		var l struct {
			Participants []cliParticipant `json:"participants"`
		}
		if err == nil && json.Unmarshal([]byte(out), &l) == nil && len(l.Participants) == 2 {
			a := l.Participants[1]
			if l.Participants[0].Node != "eu-1" || a.Identity != "alice" || a.Node != "us-1" || a.Region != "us" {
				t.Fatalf("participants: %+v", l.Participants)
			}
			for _, tr := range a.Tracks {
				if tr.Kind == "video" {
					video = tr.ID
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fwd-1 never listed alice's video: %q %v", out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Mute alice's video, asking eu-1: us-1 mutes it, bob on eu-1 is told.
	if out, err := cli(t, runParticipants, append([]string{"mute", "x", "alice", "--track", video, "--url", eu.URL()}, creds...)...); err != nil || !strings.Contains(out, "muted") {
		t.Fatalf("mute: %q %v", out, err)
	}
	alice.wait("her own track muted", func(m map[string]any) bool { return m["type"] == "track_muted" && m["track"] == video })
	bob.wait("alice's video muted", func(m map[string]any) bool {
		return m["type"] == "track_muted" && m["participant"] == "alice" && m["track"] == video && m["muted"] == true
	})

	// Remove alice, asking fwd-1: her websocket closes; bob sees her leave.
	if _, err := cli(t, runParticipants, append([]string{"remove", "x", "alice", "--url", fwd.URL()}, creds...)...); err != nil {
		t.Fatal(err)
	}
	select {
	case <-alice.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("alice still connected after removal")
	}
	bob.wait("alice left", func(m map[string]any) bool { return m["type"] == "participant_left" && m["participant"] == "alice" })

	// Errors cross the network too: an unknown participant, a closed room.
	if _, err := cli(t, runParticipants, append([]string{"remove", "x", "carol", "--url", fwd.URL()}, creds...)...); err == nil || !strings.Contains(err.Error(), "participant_not_found") {
		t.Fatalf("unknown participant: %v", err)
	}
	if out, err := cli(t, runRooms, append([]string{"close", "x", "--url", us.URL()}, creds...)...); err != nil || !strings.Contains(out, "1 participants") {
		t.Fatalf("close: %q %v", out, err)
	}
	select {
	case <-bob.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("bob still connected after the room closed")
	}
}
