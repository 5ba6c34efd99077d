package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/web/browsertest"
)

// recordRoomEvents makes the page keep the room events its session emits
// (window.__events), so that a test can check nobody was seen to leave.
func recordRoomEvents(t *testing.T, p *browsertest.Page) {
	t.Helper()
	err := p.Eval(context.Background(), `(() => {
		window.__events = [];
		for (const type of ['participant_joined', 'participant_left', 'reconnecting', 'reconnected']) {
			window.qrtn.session.on(type, (d) => window.__events.push({ type, participant: d.participant?.id ?? d.participant ?? null, kind: d.kind ?? null }));
		}
		return true;
	})()`, nil)
	if err != nil {
		t.Fatal(err)
	}
}

type roomEvent struct {
	Type        string  `json:"type"`
	Participant *string `json:"participant"`
	Kind        *string `json:"kind"`
}

func roomEvents(t *testing.T, p *browsertest.Page) []roomEvent {
	t.Helper()
	var ev []roomEvent
	if err := p.Eval(context.Background(), `window.__events`, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// noLeaves fails the test if the page saw anyone leave or join.
func noLeaves(t *testing.T, name string, p *browsertest.Page) {
	t.Helper()
	for _, e := range roomEvents(t, p) {
		if e.Type == "participant_left" || e.Type == "participant_joined" {
			t.Errorf("%s saw %s %v", name, e.Type, *e.Participant)
		}
	}
}

// waitRecovered waits until the page has recovered once more with kind and
// media flows again from every one of from.
func waitRecovered(t *testing.T, p *browsertest.Page, kind string, before int, from []string) browsertest.Stats {
	t.Helper()
	s, err := p.WaitStats(context.Background(), 60*time.Second, fmt.Sprintf("a %s recovery", kind), func(s browsertest.Stats) bool {
		return len(s.ReconnectsOf(kind)) > before
	})
	if err != nil {
		t.Fatal(err)
	}
	waitRising(t, p, s, from)
	return s
}

// TestBrowserSurvivesCuts: two Chromium tabs in a meeting on one node.
// First every websocket is cut without a close (the node's hook, as a
// broken network would): both resume, nobody sees anyone leave, and media
// keeps flowing. Then the node stops answering the ICE paths both tabs use
// (a hook on its UDP socket; new addresses still pass): only an ICE
// restart, which gathers new ones, brings media back, on both the
// publisher and the subscriber connections.
func TestBrowserSurvivesCuts(t *testing.T) {
	b := browsertest.StartT(t, browsertest.Options{})
	n := startNodeWith(t, func(c *node.Config) { c.SFU.PathFaults = true })
	base := strings.TrimSuffix(n.URL(), "/")
	names := []string{"ann", "ben"}
	pages := map[string]*browsertest.Page{}
	for _, name := range names {
		pages[name] = b.OpenT(t, pageURL(base, "cuts", name, "meeting", "host"))
	}
	other := func(name string) []string {
		if name == "ann" {
			return []string{"ben"}
		}
		return []string{"ann"}
	}
	for _, name := range names {
		waitDecoding(t, pages[name], other(name), 10)
		recordRoomEvents(t, pages[name])
	}

	if cut := n.Signaling().DropConnections(); cut != 2 {
		t.Fatalf("cut %d websockets, want 2", cut)
	}
	for _, name := range names {
		s := waitRecovered(t, pages[name], "resume", 0, other(name))
		r := s.ReconnectsOf("resume")[0]
		t.Logf("%s: %s", name, r)
		if r.GapMs != nil && *r.GapMs > 1500 {
			t.Errorf("%s: media stopped for %.0f ms during a websocket cut", name, *r.GapMs)
		}
		noLeaves(t, name, pages[name])
	}
	if st := n.Signaling().SessionStats(); st.Resumed != 2 || st.Expired != 0 {
		t.Errorf("node's session stats %+v, want 2 resumed, none expired", st)
	}

	if cut := n.SFU().CutPaths(5 * time.Minute); cut < 2 {
		t.Fatalf("cut %d ICE paths, want at least 2", cut)
	}
	for _, name := range names {
		s := waitRecovered(t, pages[name], "ice", 0, other(name))
		t.Logf("%s: %s", name, s.ReconnectsOf("ice")[0])
		noLeaves(t, name, pages[name])
	}
}

// startNodeWith is startNodeT with a configuration change.
func startNodeWith(t testing.TB, mod func(*node.Config)) *node.Node {
	t.Helper()
	level := slog.LevelError
	if testing.Verbose() {
		level = slog.LevelWarn
	}
	cfg := node.Config{Dev: true, SFU: sfu.Config{UDPAddr: "127.0.0.1:0"}}
	mod(&cfg)
	n, err := node.New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}
