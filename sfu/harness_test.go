package sfu

import (
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// peer is a synthetic pion client joined to an SFU with direct calls in
// place of signaling.
type peer struct {
	t  testing.TB
	p  *Participant
	c  *sfutest.Client
	ev chan Event

	mu     sync.Mutex
	events []Event
	done   chan struct{}
	once   sync.Once
	gone   atomic.Bool // the client was closed on purpose: its errors are expected
}

// closeClient closes the client but not the participant, as a browser
// that closes its connections.
func (pr *peer) closeClient() {
	pr.gone.Store(true)
	_ = pr.c.Close()
}

func testLogger() *slog.Logger {
	if os.Getenv("SFU_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestSFU(t testing.TB, mod func(*Config)) *SFU {
	t.Helper()
	cfg := Config{UDPAddr: "127.0.0.1:0", DynacastPauseAfter: 500 * time.Millisecond, Tick: 50 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// join adds a synthetic client. It publishes if opts has tracks.
func join(t testing.TB, s *SFU, room, id string, opts sfutest.Options) *peer {
	t.Helper()
	return joinWith(t, s, room, id, opts, nil)
}

// joinWith is join with changes to the participant's parameters.
func joinWith(t testing.TB, s *SFU, room, id string, opts sfutest.Options, mod func(*ParticipantParams)) *peer {
	t.Helper()
	pr := &peer{t: t, ev: make(chan Event, 4096), done: make(chan struct{})}
	var err error
	pr.c, err = sfutest.New(opts, pr.toSFU)
	if err != nil {
		t.Fatal(err)
	}
	pub := len(opts.Layers) > 0 || opts.Audio
	pp := ParticipantParams{ID: id, CanPublish: pub, CanSubscribe: opts.Subscribe,
		OnEvent: func(e Event) {
			select {
			case pr.ev <- e:
			default:
				t.Errorf("%s: event queue full", id)
			}
		}}
	if mod != nil {
		mod(&pp)
	}
	pr.p, err = s.Join(room, "", pp)
	if err != nil {
		t.Fatal(err)
	}
	go pr.loop()
	if pub {
		if err := pr.c.Publish(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(pr.close)
	return pr
}

// toSFU carries a client message to the participant.
func (pr *peer) toSFU(o sfutest.Out) {
	switch o.Type {
	case "offer":
		ans, err := pr.p.HandleOffer(o.SDP)
		if err != nil {
			pr.t.Errorf("publisher offer: %v", err)
			return
		}
		if err := pr.c.HandleAnswer(ans); err != nil {
			pr.t.Errorf("publisher answer: %v", err)
		}
	case "answer":
		if err := pr.p.HandleAnswer(o.SDP); err != nil && !errors.Is(err, ErrClosed) && !pr.gone.Load() {
			pr.t.Errorf("subscriber answer: %v", err)
		}
	case "candidate":
		_ = pr.p.AddICECandidate(Target(o.Target), o.Candidate)
	}
}

// loop plays the browser's part for events: answers offers, adds
// candidates, obeys dynacast, and records everything.
func (pr *peer) loop() {
	defer close(pr.done)
	for e := range pr.ev {
		switch e := e.(type) {
		case Offer:
			// An offer made just before the node closed this participant
			// meets a connection the node's DTLS close_notify closed.
			if err := pr.c.HandleOffer(e.SDP); err != nil && !pr.gone.Load() && !pr.p.closing.Load() {
				pr.t.Errorf("subscriber offer: %v", err)
			}
		case Candidate:
			_ = pr.c.HandleCandidate(string(e.Target), e.Candidate)
		case PublishLayers:
			for _, rid := range []string{"s", "m", "l"} {
				pr.c.SetPaused(rid, !slices.Contains(e.Layers, rid))
			}
		}
		pr.mu.Lock()
		pr.events = append(pr.events, e)
		pr.mu.Unlock()
	}
}

func (pr *peer) close() {
	pr.once.Do(func() {
		pr.gone.Store(true)
		pr.p.Close()
		_ = pr.c.Close()
		<-pr.p.Done()
		close(pr.ev) // no event follows Done
		<-pr.done
	})
}

// waitEvent waits for an event matching f, among all received so far.
func (pr *peer) waitEvent(what string, f func(Event) bool) Event {
	pr.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pr.mu.Lock()
		for _, e := range pr.events {
			if f(e) {
				pr.mu.Unlock()
				return e
			}
		}
		pr.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	pr.t.Fatalf("%s: no event %s", pr.p.ID(), what)
	return nil
}

// clearEvents forgets recorded events.
func (pr *peer) clearEvents() {
	pr.mu.Lock()
	pr.events = nil
	pr.mu.Unlock()
}

// waitRecv waits until the client's received stats satisfy f.
func (pr *peer) waitRecv(what string, f func(map[string]sfutest.TrackStats) bool) map[string]sfutest.TrackStats {
	pr.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var st map[string]sfutest.TrackStats
	for time.Now().Before(deadline) {
		st = pr.c.Received()
		if f(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	pr.t.Fatalf("%s: never received %s; have %+v", pr.p.ID(), what, st)
	return nil
}

func trackOf(st map[string]sfutest.TrackStats, kind string) (sfutest.TrackStats, bool) {
	for _, s := range st {
		if s.Kind == kind {
			return s, true
		}
	}
	return sfutest.TrackStats{}, false
}
