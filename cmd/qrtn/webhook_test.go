package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/webhook"
)

// hookReceiver is an operator's endpoint that checks deliveries as
// node/API.md says: signature, timestamp tolerance, then event ID.
type hookReceiver struct {
	secret string
	mu     sync.Mutex
	seen   map[string]bool
	events []webhook.Event
	raw    [][2]string // header, body of each delivery
	bad    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	sig := r.Header.Get(webhook.HeaderSignature)
	if _, err := webhook.Verify(h.secret, sig, body, time.Now(), 5*time.Minute); err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		h.bad = append(h.bad, "body: "+string(body))
		return
	}
	h.raw = append(h.raw, [2]string{sig, string(body)})
	if h.seen[ev.ID] {
		return // a retry of a delivered event: at least once
	}
	h.seen[ev.ID] = true
	h.events = append(h.events, ev)
}

// key names an event for counting: what happened, where, to whom.
func key(ev webhook.Event) string {
	k := ev.Event + "@" + ev.Node
	if ev.Participant != nil {
		k += " " + ev.Participant.Identity
	}
	if ev.Track != nil {
		k += " " + ev.Track.Kind
	}
	return k
}

func (h *hookReceiver) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, ev := range h.events {
		out[key(ev)]++
	}
	return out
}

// waitFor waits until the receiver has exactly want (and nothing else)
// and stays so for a moment (so a duplicate would show).
func (h *hookReceiver) waitFor(t *testing.T, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := h.counts()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			time.Sleep(600 * time.Millisecond)
			if got := h.counts(); fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook events\n got %v\nwant %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhooksOncePerNetwork: every node of the demo network posts to one
// receiver. A room used on two access nodes yields each event exactly
// once, from the node where it happened, signed; a forged body and a
// replayed delivery fail the documented check; a node shutting down says
// it is draining.
func TestWebhooksOncePerNetwork(t *testing.T) {
	rcv := &hookReceiver{seen: map[string]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, _ := parseDemoFlags([]string{"--delay", "2ms", "--loss", "0"}, io.Discard)
	spec, _ := f.network()
	spec.APIKey, spec.APISecret = "hooks", "a-secret-for-the-webhook-test"
	rcv.secret = spec.APISecret
	spec.Tune = func(c *node.Config) { c.Webhooks.URLs = []string{srv.URL + "/hook"} }
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	eu, us := net.Node("eu-1"), net.Node("us-1")

	alice := joinClient(t, eu, signaling.Grant{Identity: "alice", Room: "h", Publish: true, Subscribe: true},
		sfutest.Options{Layers: []string{""}, Audio: true})
	want := map[string]int{"room_started@eu-1": 1, "participant_joined@eu-1 alice": 1,
		"track_published@eu-1 alice audio": 1, "track_published@eu-1 alice video": 1}
	rcv.waitFor(t, want)
	bob := joinClient(t, us, signaling.Grant{Identity: "bob", Room: "h", Subscribe: true}, sfutest.Options{Subscribe: true})
	want["participant_joined@us-1 bob"] = 1
	rcv.waitFor(t, want)
	bob.write(map[string]any{"type": "leave"})
	want["participant_left@us-1 bob"] = 1
	rcv.waitFor(t, want)
	alice.write(map[string]any{"type": "leave"})
	for _, k := range []string{"track_unpublished@eu-1 alice audio", "track_unpublished@eu-1 alice video",
		"participant_left@eu-1 alice", "room_finished@eu-1"} {
		want[k] = 1
	}
	rcv.waitFor(t, want)

	// The documented check rejects a forged body and a replay.
	rcv.mu.Lock()
	sig, body := rcv.raw[0][0], rcv.raw[0][1]
	bad := rcv.bad
	rcv.mu.Unlock()
	if len(bad) != 0 {
		t.Fatalf("deliveries failed the check: %v", bad)
	}
	forged := strings.Replace(body, "room_started", "room_finished", 1)
	if _, err := webhook.Verify(spec.APISecret, sig, []byte(forged), time.Now(), 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("a forged body passed: %v", err)
	}
	if _, err := webhook.Verify(spec.APISecret, sig, []byte(body), time.Now().Add(10*time.Minute), 5*time.Minute); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("a replay ten minutes later passed: %v", err)
	}

	// A node going away says so.
	_ = us.Close()
	want["node_draining@us-1"] = 1
	rcv.waitFor(t, want)
}
