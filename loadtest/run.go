// Package loadtest drives an access node with synthetic pion clients, as
// browsers would: they join through the websocket signaling protocol
// (signaling/PROTOCOL.md), publish generated simulcast VP8 (≈1.5 Mbit/s
// "l" + ≈150 kbit/s "s") and Opus, and subscribe. Every generated frame
// carries its send time, so subscribers measure received bitrate, loss,
// frame latency percentiles and stalls (no new frame for 600 ms) without a
// decoder. `qrtn loadtest` is its command line. The node's CPU comes from
// /proc and its forwarding counters from its public /metrics; subscribers
// can be spread over several processes (procs.go) when one core of
// synthetic clients cannot take what the node sends.
//
// It knows the signaling protocol and WebRTC; it must not know the node's
// internals (sfu, rooms, forwarding): it measures the node from outside.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"sync"
	"time"
)

// Config is one load test run.
type Config struct {
	URL         string        // the node's HTTP base URL, e.g. http://127.0.0.1:7880
	Room        string        // room to join
	Mode        string        // "meeting" or "live"
	Publishers  int           // synthetic publishers (hosts)
	Subscribers int           // synthetic subscribers (viewers)
	Duration    time.Duration // measurement window, after all joined and the warm-up
	Warmup      time.Duration // after the last join, before measuring
	Prefer      string        // "large", "small" or "" (send no preference)
	// SubscribeTo > 0: each subscriber joins with auto_subscribe false and
	// subscribes to that many publishers only (selective subscription),
	// taken in turn from the SubscribePool publishers (0: Publishers).
	SubscribeTo, SubscribePool int
	JoinRate                   float64       // subscriber joins per second
	JoinTimeout                time.Duration // per client
	Interval                   time.Duration // progress lines; 0 for none
	NodePID                    int           // when > 0, the node's CPU use is sampled from /proc
	NoTWCC                     bool          // subscribers send no transport-cc feedback (see newAPI)
	NoRecover                  bool          // clients never resume or move (recover.go)
	// AdvertiseHost, when set, is the address clients give in their host
	// candidates instead of their own. A benchmark that puts an impaired
	// relay between clients and their node gives an unreachable one
	// (192.0.2.1, TEST-NET-1): the node's connectivity checks then find no
	// path around the relay, only the one the clients' own checks open
	// through it.
	AdvertiseHost string
	// QualityEvery is how often clients send quality reports, as browsers
	// do (quality.go); 0 means 5 s, negative none.
	QualityEvery time.Duration
	Media        MediaConfig
	Token        TokenFunc // nil: the node's dev-mode /api/token
	Logger       *slog.Logger
	// SubscriberURLs, when set, are the nodes subscribers join, in turn
	// (publishers join URL): a room spanning cascaded nodes. Without Token,
	// each node's dev-mode /api/token signs its own subscribers' tokens.
	SubscriberURLs []string
	// Procs > 1 spreads the subscribers over that many child processes
	// (procs.go), each started by Spawn with its index, its share of the
	// subscribers and of the join rate; this process joins the publishers
	// and measures the node.
	Procs int
	Spawn func(i, subscribers int, joinRate float64) *exec.Cmd
	// Child, in a process Spawn started, synchronises the window with the
	// coordinator; the child joins no publishers. IdentityPrefix keeps
	// its subscribers' identities apart from the other processes'.
	Child          *ChildIO
	IdentityPrefix string
}

// DefaultConfig is one publisher and ten subscribers for ten seconds.
func DefaultConfig() Config {
	return Config{
		Room: "loadtest", Mode: "meeting", Publishers: 1, Subscribers: 10,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, JoinRate: 50,
		JoinTimeout: 20 * time.Second, Interval: time.Second, Media: DefaultMedia(),
	}
}

func (c *Config) validate() error {
	switch {
	case c.URL == "":
		return errors.New("loadtest: no node URL")
	case c.Publishers < 1 && c.Child == nil:
		return errors.New("loadtest: need at least one publisher")
	case c.Procs > 1 && c.Spawn == nil:
		return errors.New("loadtest: several processes but no way to start them")
	case c.Subscribers < 0:
		return errors.New("loadtest: negative subscribers")
	case c.Prefer != "" && c.Prefer != "large" && c.Prefer != "small":
		return fmt.Errorf("loadtest: prefer %q is not large or small", c.Prefer)
	case c.Media.FPS <= 0 || c.JoinRate <= 0 || c.Duration <= 0:
		return errors.New("loadtest: fps, join rate and duration must be positive")
	}
	return nil
}

// Run runs the load test and returns its report. Progress lines go to
// progress (may be nil). Cancelling ctx ends the run early; the report
// covers what was measured.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if progress == nil {
		progress = io.Discard
	}
	customToken := cfg.Token != nil
	if cfg.Token == nil {
		cfg.Token = DevTokens(cfg.URL, cfg.Room)
	}
	pubAPI, err := newAPI(true, true, cfg.AdvertiseHost, cfg.Logger)
	if err != nil {
		return nil, err
	}
	subAPI, err := newAPI(false, !cfg.NoTWCC, cfg.AdvertiseHost, cfg.Logger)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, out: progress, start: time.Now(), cpu: newCPUSampler(cfg.NodePID)}
	defer r.closeAll()

	subs, subN := 0, 0
	params := func(identity string, publish bool) clientParams {
		api, base, token := subAPI, cfg.URL, cfg.Token
		if publish {
			api = pubAPI
		} else if n := len(cfg.SubscriberURLs); n > 0 {
			base = cfg.SubscriberURLs[subs%n]
			subs++
			if !customToken {
				token = DevTokens(base, cfg.Room)
			}
		}
		var tokenAt func(context.Context, string, string, bool) (string, error)
		if !customToken {
			tokenAt = devTokenAt(cfg.Room)
		}
		var only []string
		if !publish {
			only = cfg.subscription(subN)
			subN++
		}
		return clientParams{base: base, mode: cfg.Mode, identity: identity, publish: publish, subscribeTo: only,
			prefer: cfg.Prefer, token: token, tokenAt: tokenAt, api: api, pubAPI: pubAPI, media: cfg.Media,
			logger: cfg.Logger, noRecover: cfg.NoRecover, quality: cfg.QualityEvery}
	}
	for i := range cfg.Publishers {
		c := newClient(ctx, params(fmt.Sprintf("pub-%d", i), true))
		r.add(c, true)
		if err := c.join(cfg.JoinTimeout); err != nil {
			return nil, fmt.Errorf("publisher %d: %w", i, err)
		}
	}
	if cfg.Procs > 1 {
		return r.runProcs(ctx)
	}
	stopProgress := r.progressLoop(ctx)
	defer stopProgress()
	r.joinSubscribers(ctx, params)
	wait := func() error { return sleep(ctx, cfg.Warmup) }
	if cfg.Child != nil {
		wait = func() error { return cfg.Child.waitStart(ctx) }
	}
	if err := wait(); err == nil {
		r.resetWindow()
		_ = sleep(ctx, cfg.Duration)
	}
	stopProgress()
	return r.report(time.Now()), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runner holds the clients of one run.
type runner struct {
	cfg   Config
	out   io.Writer
	start time.Time
	cpu   *cpuSampler

	mu          sync.Mutex
	clients     []*client
	publishers  int
	joinErrs    []string
	joinFailed  int
	windowStart time.Time
	// Kernel UDP receive drops at the window's start (-1: unreadable).
	nodeDrops0, selfDrops0 int64
	// The node's forwarding counters at the window's start (NodePID > 0).
	nodeCounters0 nodeCounters
}

// nodeCounters reads the node's forwarding counters when its CPU is
// measured (NodePID > 0); a node without /metrics gives ok = false.
func (r *runner) nodeCounters() nodeCounters {
	if r.cfg.NodePID <= 0 {
		return nodeCounters{}
	}
	return readNodeCounters(context.Background(), r.cfg.URL)
}

// drops reads the kernel UDP drops of the node's sockets and of ours.
func (r *runner) drops() (node, self int64) {
	node, self = -1, -1
	if r.cfg.NodePID > 0 {
		if n, err := udpDrops(r.cfg.NodePID); err == nil {
			node = int64(n)
		}
	}
	if n, err := udpDrops(os.Getpid()); err == nil {
		self = int64(n)
	}
	return node, self
}

func (r *runner) add(c *client, publisher bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients = append(r.clients, c)
	if publisher {
		r.publishers++
	}
}

func (r *runner) joinFailure(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.joinFailed++
	if len(r.joinErrs) < 10 {
		r.joinErrs = append(r.joinErrs, err.Error())
	}
}

// joinSubscribers starts subscribers at the join rate and waits until every
// one has joined or failed.
func (r *runner) joinSubscribers(ctx context.Context, params func(string, bool) clientParams) {
	var wg sync.WaitGroup
	every := time.Duration(float64(time.Second) / r.cfg.JoinRate)
	for i := range r.cfg.Subscribers {
		if i > 0 && sleep(ctx, every) != nil {
			break
		}
		c := newClient(ctx, params(fmt.Sprintf("%ssub-%d", r.cfg.IdentityPrefix, i), false))
		r.add(c, false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.join(r.cfg.JoinTimeout); err != nil {
				r.joinFailure(err)
			}
		}()
	}
	wg.Wait()
}

func (r *runner) snapshotClients() []*client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*client(nil), r.clients...)
}

// closeAll closes every client, a few at a time so a thousand closes do not
// stampede the node.
func (r *runner) closeAll() {
	clients := r.snapshotClients()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.close()
		}()
	}
	wg.Wait()
}

// resetWindow starts the measurement window on every track.
func (r *runner) resetWindow() {
	now := time.Now()
	nd, sd := r.drops()
	nc := r.nodeCounters()
	r.mu.Lock()
	r.windowStart = now
	r.nodeDrops0, r.selfDrops0 = nd, sd
	r.nodeCounters0 = nc
	r.mu.Unlock()
	for _, c := range r.snapshotClients() {
		for _, t := range c.trackList() {
			t.mu.Lock()
			t.r.resetWindow()
			t.mu.Unlock()
		}
	}
	r.cpu.reset(now)
}

func (c *client) trackList() []*recvTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := make([]*recvTrack, 0, len(c.tracks))
	for _, t := range c.tracks {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].kind+list[i].participant < list[j].kind+list[j].participant })
	return list
}

func (c *client) layerOf(participant, track string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.layers[participant+"/"+track]
}
