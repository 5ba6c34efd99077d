package trunk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/trunk/route"
)

func testLogger() *slog.Logger {
	if os.Getenv("TRUNK_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testNode is one node of an in-process network: an SFU (access nodes)
// and a trunk.
type testNode struct {
	name string
	role route.Role
	key  handshake.KeyPair
	sfu  *sfu.SFU
	tr   *Trunk
}

// netSpec describes a test network: nodes by name and role, trunks as
// pairs. mod may change every node's configuration.
type netSpec struct {
	nodes  map[string]route.Role
	trunks [][2]string
	// addr, when set, gives the address the dialer of a trunk uses to reach
	// the acceptor (a relay); by default the acceptor's own address.
	addr func(dialer, acceptor string, direct string) string
	mod  func(*Config)
}

// startNet builds the nodes, wires their peers and starts them.
func startNet(t testing.TB, spec netSpec) map[string]*testNode {
	t.Helper()
	nodes := map[string]*testNode{}
	names := make([]string, 0, len(spec.nodes))
	for n := range spec.nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		kp, err := handshake.GenerateKeyPair(nil)
		if err != nil {
			t.Fatal(err)
		}
		nodes[n] = &testNode{name: n, role: spec.nodes[n], key: kp}
	}
	// Bind every trunk socket first: peers need each other's addresses.
	for _, n := range names {
		tn := nodes[n]
		if tn.role == route.Access {
			s, err := sfu.New(sfu.Config{UDPAddr: "127.0.0.1:0", DynacastPauseAfter: 500 * time.Millisecond,
				Tick: 50 * time.Millisecond}, testLogger())
			if err != nil {
				t.Fatal(err)
			}
			tn.sfu = s
			t.Cleanup(func() { _ = s.Close() })
		}
	}
	cfgs := map[string]*Config{}
	for _, n := range names {
		tn := nodes[n]
		cfg := &Config{Name: n, Region: "r-" + n, Role: tn.role, Listen: "127.0.0.1:0", Key: &tn.key,
			RedialMin: 50 * time.Millisecond, RedialMax: 500 * time.Millisecond,
			LinkStateInterval: 200 * time.Millisecond, ReplanInterval: 200 * time.Millisecond,
			KeepAlive: 100 * time.Millisecond, IdleTimeout: time.Second}
		if spec.mod != nil {
			spec.mod(cfg)
		}
		cfgs[n] = cfg
		tr, err := New(*cfg, tn.sfu, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		tn.tr = tr
	}
	// Peers need addresses, known only now: rebuild the trunks with them.
	for _, n := range names {
		_ = nodes[n].tr.Close()
	}
	addrs := map[string]string{}
	for _, n := range names {
		addrs[n] = nodes[n].tr.Addr().String()
	}
	for _, n := range names {
		cfg := cfgs[n]
		cfg.Listen = addrs[n]
		for _, tk := range spec.trunks {
			other := ""
			switch n {
			case tk[0]:
				other = tk[1]
			case tk[1]:
				other = tk[0]
			default:
				continue
			}
			addr := addrs[other]
			if spec.addr != nil && n < other {
				addr = spec.addr(n, other, addrs[other])
			}
			cfg.Peers = append(cfg.Peers, Peer{Name: other, Region: "r-" + other, Role: nodes[other].role,
				Addr: addr, PublicKey: nodes[other].key.Public.String()})
		}
		tr, err := New(*cfg, nodes[n].sfu, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		nodes[n].tr = tr
		if err := tr.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
	}
	return nodes
}

// e2eWait bounds how long the real-UDP tests wait for the network to
// converge: seconds on a quiet machine, but these tests must pass on a
// machine whose cores are busy with other work, where pion, the SFU and the
// trunk loops all wait for CPU. The protocol's timing is tested exactly in
// virtual time (core_test.go).
const e2eWait = 30 * time.Second

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// waitTrunks waits until every node sees every trunk up.
func waitTrunks(t testing.TB, nodes map[string]*testNode) {
	t.Helper()
	waitFor(t, 10*time.Second, "trunks up", func() bool {
		for _, n := range nodes {
			for _, tk := range n.tr.Status().Trunks {
				if !tk.Up {
					return false
				}
			}
		}
		return true
	})
}

// client is a synthetic pion participant joined to an SFU directly.
type client struct {
	t  testing.TB
	p  *sfu.Participant
	c  *sfutest.Client
	ev chan sfu.Event

	mu     sync.Mutex
	events []sfu.Event
	done   chan struct{}
	once   sync.Once
}

func joinClient(t testing.TB, s *sfu.SFU, room, mode, id string, opts sfutest.Options) *client {
	t.Helper()
	cl := &client{t: t, ev: make(chan sfu.Event, 4096), done: make(chan struct{})}
	var err error
	cl.c, err = sfutest.New(opts, cl.toSFU)
	if err != nil {
		t.Fatal(err)
	}
	pub := len(opts.Layers) > 0 || opts.Audio
	cl.p, err = s.Join(room, mode, sfu.ParticipantParams{ID: id, CanPublish: pub, CanSubscribe: opts.Subscribe,
		OnEvent: func(e sfu.Event) {
			select {
			case cl.ev <- e:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	go cl.loop()
	if pub {
		if err := cl.c.Publish(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(cl.close)
	return cl
}

func (cl *client) toSFU(o sfutest.Out) {
	switch o.Type {
	case "offer":
		ans, err := cl.p.HandleOffer(o.SDP)
		if err != nil {
			cl.t.Logf("publisher offer: %v", err)
			return
		}
		if err := cl.c.HandleAnswer(ans); err != nil {
			cl.t.Logf("publisher answer: %v", err)
		}
	case "answer":
		if err := cl.p.HandleAnswer(o.SDP); err != nil && !errors.Is(err, sfu.ErrClosed) {
			cl.t.Logf("subscriber answer: %v", err)
		}
	case "candidate":
		_ = cl.p.AddICECandidate(sfu.Target(o.Target), o.Candidate)
	}
}

func (cl *client) loop() {
	defer close(cl.done)
	for e := range cl.ev {
		switch e := e.(type) {
		case sfu.Offer:
			if err := cl.c.HandleOffer(e.SDP); err != nil {
				cl.t.Logf("subscriber offer: %v", err)
			}
		case sfu.Candidate:
			_ = cl.c.HandleCandidate(string(e.Target), e.Candidate)
		case sfu.PublishLayers:
			for _, rid := range []string{"s", "m", "l"} {
				cl.c.SetPaused(rid, !slices.Contains(e.Layers, rid))
			}
		}
		cl.mu.Lock()
		cl.events = append(cl.events, e)
		cl.mu.Unlock()
	}
}

func (cl *client) close() {
	cl.once.Do(func() {
		cl.p.Close()
		_ = cl.c.Close()
		<-cl.p.Done()
		close(cl.ev)
		<-cl.done
	})
}

// waitRecv waits until the client's received stats satisfy f.
func (cl *client) waitRecv(what string, timeout time.Duration, f func(map[string]sfutest.TrackStats) bool) map[string]sfutest.TrackStats {
	cl.t.Helper()
	deadline := time.Now().Add(timeout)
	var st map[string]sfutest.TrackStats
	for time.Now().Before(deadline) {
		st = cl.c.Received()
		if f(st) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	cl.t.Fatalf("%s: never received %s; have %+v", cl.p.ID(), what, st)
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
