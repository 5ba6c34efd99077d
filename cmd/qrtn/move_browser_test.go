package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/web/browsertest"
)

// twoInEU is a demo network with two access nodes in eu, one in us and a
// forwarding node between them, on short clean trunks.
func twoInEU(t *testing.T, ctx context.Context, logger *slog.Logger) *network {
	t.Helper()
	spec := networkSpec{
		Nodes: []nodeSpec{{"eu-1", "eu", "access"}, {"eu-2", "eu", "access"}, {"us-1", "us", "access"},
			{"fwd-1", "backbone-1", "forwarding"}},
		Trunks: [][2]string{{"eu-1", "fwd-1"}, {"eu-2", "fwd-1"}, {"us-1", "fwd-1"}},
		Link:   netsim.LinkConfig{Delay: 5 * time.Millisecond},
		Tune: func(c *node.Config) {
			c.Scheduler.Rate, c.Scheduler.Burst = 1000, 1000
			c.Drain.Timeout = 20 * time.Second
		},
	}
	net, err := startNetwork(ctx, spec, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	waitAlternatives(t, net, "eu-2", "eu-1", "us-1")
	return net
}

// waitAlternatives waits until node's scheduler offers every one of want.
func waitAlternatives(t *testing.T, net *network, name string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, a := askJoin(t, net.Node(name).URL(), "room=warmup&name=w")
		have := []string{a.Node}
		for _, alt := range a.Alternatives {
			have = append(have, alt.Node)
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return slices.Contains(have, w) })
		if code == 200 && len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's scheduler offers %v, missing %v", name, have, missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// watchRoom makes the page record its session's room events.
func watchRoom(t *testing.T, p *browsertest.Page) {
	t.Helper()
	err := p.Eval(context.Background(), `(() => {
		window.__events = [];
		for (const type of ['participant_joined', 'participant_left']) {
			window.qrtn.session.on(type, (d) => window.__events.push(type + ' ' + (d.participant?.name ?? d.participant) + ' at ' + Date.now()));
		}
		return true;
	})()`, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func roomEventsOf(t *testing.T, p *browsertest.Page) []string {
	t.Helper()
	var ev []string
	if err := p.Eval(context.Background(), `window.__events`, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// tileCount is how many tiles the page shows for a participant name.
func tileCount(t *testing.T, p *browsertest.Page, name string) int {
	t.Helper()
	var n int
	js := fmt.Sprintf(`[...document.querySelectorAll('.tile .label')].filter((l) => l.textContent.startsWith(%q)).length`, name)
	if err := p.Eval(context.Background(), js, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// onNode waits until the page is joined to node and has recovered kind
// more than before times.
func onNode(t *testing.T, p *browsertest.Page, who, node, kind string, before int) browsertest.Stats {
	t.Helper()
	s, err := p.WaitStats(context.Background(), 60*time.Second, fmt.Sprintf("%s on %s after a %s", who, node, kind), func(s browsertest.Stats) bool {
		return s.Node != nil && s.Node.Name == node && len(s.ReconnectsOf(kind)) > before
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keepsDecoding waits until the page decodes 20 more video frames from
// participant than in before (on the same track, or 20 on a new one, as
// after a move), and checks it was never shown in two tiles.
func keepsDecoding(t *testing.T, p *browsertest.Page, who, participant string, before browsertest.Stats) browsertest.Stats {
	t.Helper()
	v0, _ := before.Track(participant, "video")
	var twice int
	s, err := p.WaitStats(context.Background(), 45*time.Second, fmt.Sprintf("%s decoding %s again", who, participant), func(s browsertest.Stats) bool {
		if n := tileCount(t, p, participant); n > 1 {
			twice = n
		}
		for _, in := range s.Subscribed {
			if in.Kind != "video" || in.Participant != participant && in.Name != participant {
				continue
			}
			if in.Track == v0.Track && in.FramesDecoded > v0.FramesDecoded+20 || in.Track != v0.Track && in.FramesDecoded > 20 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if twice > 0 {
		t.Errorf("%s showed %s in %d tiles", who, participant, twice)
	}
	return s
}

// TestBrowsersMoveBetweenAccessNodes: a demo network with two access nodes
// in eu. Ann publishes from eu-1, Bob from us-1, Cat watches from eu-2.
//
// eu-1 is stopped (as /api/demo/node does): Ann's page moves to eu-2 by
// itself, republishes, and Bob, across the trunks, keeps seeing her after a
// gap, in one tile, without a leave. Then eu-1 comes back and eu-2 is
// drained: every client on it (Ann and Cat) is told to move, moves to eu-1,
// and eu-2 closes well within its drain timeout; Bob still sees Ann, and
// nobody saw anybody leave.
func TestBrowsersMoveBetweenAccessNodes(t *testing.T) {
	browsertest.Exclusive(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // after the failure dump, which needs the nodes
	logs := newLogRing()
	net := twoInEU(t, ctx, logs.logger())
	br := browsertest.StartT(t, browsertest.Options{})
	const media = "&autojoin=1&video=320x240@15"
	open := func(name, node, role string) *browsertest.Page {
		return br.OpenT(t, net.Node(node).URL()+"?room=mv&name="+name+"&role="+role+"&node="+node+media)
	}
	ann := open("ann", "eu-1", "host")
	bob := open("bob", "us-1", "host")
	cat := open("cat", "eu-2", "viewer")
	pages := map[string]*browsertest.Page{"ann": ann, "bob": bob, "cat": cat}
	dumpOnFailure(t, net, "mv", logs, pages)
	decoding := func(p *browsertest.Page, who string, from ...string) browsertest.Stats {
		s, err := p.WaitStats(ctx, 60*time.Second, who+" decoding "+fmt.Sprint(from), func(s browsertest.Stats) bool {
			for _, f := range from {
				if !s.Decoding(f, 10, 1000) {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	decoding(ann, "ann", "bob")
	decoding(cat, "cat", "ann", "bob")
	before := decoding(bob, "bob", "ann")
	for _, p := range pages {
		watchRoom(t, p)
		watchTracks(t, p)
	}

	// eu-1 stops: Ann moves.
	if err := net.StopNode("eu-1"); err != nil {
		t.Fatal(err)
	}
	s := onNode(t, ann, "ann", "eu-2", "migrate", 0)
	t.Logf("ann moved to eu-2: %s", s.ReconnectsOf("migrate")[0])
	shown := before
	before = keepsDecoding(t, bob, "bob", "ann", before)
	keepsShowing(t, bob, "bob", "ann", shown)
	decoding(ann, "ann", "bob")

	// eu-1 returns; eu-2 drains: Ann and Cat move to eu-1.
	if err := net.StartNode("eu-1"); err != nil {
		t.Fatal(err)
	}
	waitAlternatives(t, net, "eu-2", "eu-1")
	eu2 := net.Node("eu-2")
	drainAt := pageNow(t, bob)
	start := time.Now()
	drained := make(chan error, 1)
	go func() { drained <- eu2.Drain(ctx) }()
	onNode(t, ann, "ann", "eu-1", "migrate", 1)
	onNode(t, cat, "cat", "eu-1", "migrate", 0)
	select {
	case err := <-drained:
		t.Logf("eu-2 drained in %v (timeout %v), err %v", time.Since(start).Round(time.Millisecond), 20*time.Second, err)
	case <-time.After(30 * time.Second):
		t.Fatal("eu-2's drain did not end within its timeout")
	}
	shown = keepsDecoding(t, bob, "bob", "ann", before)
	decoding(cat, "cat", "ann", "bob")
	drainEnd := pageNow(t, bob)
	// A person sees them again: the tiles show the new tracks.
	keepsShowing(t, bob, "bob", "ann", shown)
	for _, c := range []struct {
		p       *browsertest.Page
		who, of string
	}{{cat, "cat", "ann"}, {cat, "cat", "bob"}, {ann, "ann", "bob"}} {
		s, _ := c.p.Stats(ctx)
		keepsShowing(t, c.p, c.who, c.of, s)
	}
	drainFrameGaps(t, map[string]*browsertest.Page{"ann": ann, "cat": cat}, map[string]int{"ann": 1, "cat": 0}, bob, "bob", "ann", drainAt, drainEnd)
	for who, p := range pages {
		if ev := roomEventsOf(t, p); len(ev) > 0 {
			t.Errorf("%s saw %v: a move must not look like a leave or a join", who, ev)
		}
	}
	for who, p := range pages {
		s, _ := p.Stats(ctx)
		t.Logf("%s: reconnects %v", who, s.Reconnects)
	}
}
