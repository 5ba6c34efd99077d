package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/turnsrv"
)

const demoHelp = `Usage: qrtn demo [flags]

Runs a whole qrtn network in this process, with no external service: access
nodes in different regions (browsers join them), forwarding nodes between
them, and QRTP trunks from every access node to every forwarding node (and
between forwarding nodes). Every trunk crosses a real-time UDP relay that
emulates a long-distance lossy link (--delay, --loss, --jitter, --rate), so
media between regions really crosses lossy, delayed UDP.

It prints one line per node:

  node NAME region=REGION role=ROLE http=http://127.0.0.1:PORT/

then the network's API credentials, shared by every node, on a line of their
own (for qrtn token --admin, qrtn rooms and qrtn participants):

  api_key=KEY api_secret=SECRET

By default there are three access regions (eu, us, ap). Open one URL, on
any access node, in several tabs:

  http://127.0.0.1:PORT/?room=demo&autojoin=1

Each tab asks that node's scheduler where to join (GET /api/join), probes one
node per region, and joins the node chosen; its status line says where and
why ("us-1 · 10 ms · same room, same region"). On loopback every probe looks
alike, so add &region=us (a location hint) to place a tab as a user in that
region would be, or run with --user-delay eu=8ms,us=70ms,ap=150ms to make the
probes differ; &node=NAME pins a node. Tabs of one room in different regions
are in one room across regions. Every node serves /network, a live
page of the nodes, trunks, routes and trunk metrics. Tokens are minted by each
access node's development endpoint.

Live controls, on every node's HTTP port while the network runs:

  POST /api/demo/link  {"from":"eu-1","to":"fwd-1","delay_ms":80,"loss":0.3,"burst":8}
       changes that trunk's emulated link in both directions (burst: mean
       loss run in packets, Gilbert-Elliott; absent fields keep their value;
       "jitter_ms" too). GET /api/demo/links lists every trunk's settings.
  POST /api/demo/node  {"name":"fwd-1","action":"stop"}   (or "start")
       stops a node as a crash would, or starts it again on its old
       addresses. GET /api/demo/nodes lists the nodes.

For example:

  curl -d '{"from":"eu-1","to":"fwd-1","loss":0.4,"burst":10}' http://127.0.0.1:PORT1/api/demo/link

Flags:
`

// demoFlags are the parsed command line of qrtn demo.
type demoFlags struct {
	access     string
	forwarding int
	delay      time.Duration
	jitter     time.Duration
	loss       float64
	rate       string
	backbone   bool
	direct     bool
	logLevel   string
	httpBase   int
	congestion string
	debug      bool
	qualityDB  string
	userDelay  string
}

func parseDemoFlags(args []string, stderr io.Writer) (demoFlags, error) {
	var f demoFlags
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), demoHelp)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.access, "access", "eu,us,ap", "regions of the access nodes, comma separated (one node each, named REGION-1; a region named twice gets REGION-2 too; eu, us, ap, sa, af, oc, jp, in, me and us-west have coordinates)")
	fs.IntVar(&f.forwarding, "forwarding", 2, "number of forwarding nodes (fwd-1, fwd-2, ...)")
	fs.DurationVar(&f.delay, "delay", 80*time.Millisecond, "one-way delay of every trunk link")
	fs.DurationVar(&f.jitter, "jitter", 0, "uniform jitter of ± this around --delay")
	fs.Float64Var(&f.loss, "loss", 0.1, "random loss of every trunk link per direction, 0..1 (also accepts 10%)")
	fs.StringVar(&f.rate, "rate", "0", "bottleneck rate of every trunk link (e.g. 20mbit); 0 = unlimited")
	fs.BoolVar(&f.backbone, "backbone", true, "trunks between forwarding nodes")
	fs.BoolVar(&f.direct, "direct", false, "also a direct trunk between every two access nodes")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.IntVar(&f.httpBase, "http-port", 0, "HTTP port of the first node printed, the others follow in order; 0 = free ports")
	fs.StringVar(&f.congestion, "cc", "", "QRTP congestion controller of the trunks (default: the trunk default)")
	fs.StringVar(&f.userDelay, "user-delay", "", "emulated round trip from your browser to each region's access node, e.g. eu=8ms,us=70ms,ap=150ms: the page's probes see these and the scheduler places you by them")
	fs.StringVar(&f.qualityDB, "quality-db", "", "the quality store of every node: a SQLite file or a postgres:// URL (default: one SQLite file in a temporary directory, removed at exit)")
	fs.BoolVar(&f.debug, "debug", false, "serve Go's profiler at /debug/pprof/ and the SFU snapshot at /debug/rooms on every node (one process: any node's profile covers all)")
	if err := fs.Parse(percentLoss(args)); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.loss < 0 || f.loss >= 1 || f.forwarding < 0 || f.delay < 0 {
		return f, errors.New("--loss must be in [0, 1), --forwarding and --delay not negative")
	}
	return f, nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", f.logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	spec, err := f.network()
	if err != nil {
		return err
	}
	cleanup, err := demoQualityDB(&spec, f.qualityDB)
	if err != nil {
		return err
	}
	defer cleanup()
	net, err := startNetwork(ctx, spec, logger)
	if err != nil {
		return err
	}
	// A second SIGTERM while the network closes exits at once: the handler
	// stops only after net.Close (defers run last first).
	defer exitOnSecondSignal(stderr)()
	defer net.Close()
	for _, n := range net.Nodes {
		if _, err := fmt.Fprintln(stdout, n.Line()); err != nil {
			return err
		}
	}
	// The network's credentials, for qrtn token --admin, qrtn rooms and
	// the room API (node/API.md).
	if _, err := fmt.Fprintf(stdout, "api_key=%s api_secret=%s\n", net.APIKey, net.APISecret); err != nil {
		return err
	}
	var entry string
	var regions []string
	for _, n := range net.Nodes {
		if n.Role() == "access" {
			entry = cmp.Or(entry, n.URL())
			regions = append(regions, n.Region())
		}
	}
	fmt.Fprintf(stderr, "qrtn demo: trunks emulate %v one-way, %.0f%% loss; %s; /network on any node shows the network\n",
		f.delay, f.loss*100, entryHint(entry, regions))
	<-ctx.Done()
	return nil
}

// network turns the flags into a network description.
func (f demoFlags) network() (networkSpec, error) {
	rate, err := parseRate(f.rate)
	if err != nil {
		return networkSpec{}, err
	}
	link := netsim.LinkConfig{Delay: f.delay, Jitter: f.jitter, Loss: netsim.Bernoulli(f.loss), Rate: rate}
	if rate > 0 {
		link.QueueBytes = int(rate / 8 * (2*f.delay + 20*time.Millisecond).Seconds())
	}
	spec := networkSpec{Link: link, HTTPBase: f.httpBase, CC: f.congestion}
	if f.debug {
		spec.Tune = func(c *node.Config) { c.Debug = true }
	}
	var fwd []string
	for i := 1; i <= f.forwarding; i++ {
		name := fmt.Sprintf("fwd-%d", i)
		fwd = append(fwd, name)
		spec.Nodes = append(spec.Nodes, nodeSpec{Name: name, Region: fmt.Sprintf("backbone-%d", i), Role: "forwarding"})
	}
	var acc []string
	perRegion := map[string]int{}
	for _, r := range strings.Split(f.access, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		// A region named twice gets a second node (eu-1, eu-2): clients of
		// a stopped or drained node move to the other one in their region.
		perRegion[r]++
		name := fmt.Sprintf("%s-%d", r, perRegion[r])
		acc = append(acc, name)
		spec.Nodes = append(spec.Nodes, nodeSpec{Name: name, Region: r, Role: "access"})
	}
	if len(acc) == 0 {
		return spec, errors.New("no access node")
	}
	if spec.UserDelay, err = parseUserDelay(f.userDelay, strings.Split(strings.ReplaceAll(f.access, " ", ""), ",")); err != nil {
		return spec, err
	}
	for _, a := range acc {
		for _, w := range fwd {
			spec.Trunks = append(spec.Trunks, [2]string{a, w})
		}
	}
	for i := range fwd {
		for j := i + 1; j < len(fwd) && f.backbone; j++ {
			spec.Trunks = append(spec.Trunks, [2]string{fwd[i], fwd[j]})
		}
	}
	for i := range acc {
		for j := i + 1; j < len(acc) && (f.direct || len(fwd) == 0); j++ {
			spec.Trunks = append(spec.Trunks, [2]string{acc[i], acc[j]})
		}
	}
	return spec, nil
}

// networkSpec describes an in-process network.
type networkSpec struct {
	Nodes  []nodeSpec
	Trunks [][2]string
	// Link is the impairment of every trunk, per direction.
	Link netsim.LinkConfig
	// HTTPBase is the first node's HTTP port (0: free ports).
	HTTPBase int
	// CC names the trunks' congestion controller ("" = default).
	CC string
	// Tune, when set, may change each node's configuration.
	Tune func(*node.Config)
	// APIKey and APISecret are shared by every node, so that tokens of one
	// node work on all; generated when empty.
	APIKey, APISecret string
	// QualityDB is every node's quality store ("": none).
	QualityDB string
	// UserDelay is the emulated RTT from the user to each region's access
	// nodes (demo_regions.go).
	UserDelay map[string]time.Duration
}

type nodeSpec struct{ Name, Region, Role string }

// network is a running in-process network.
type network struct {
	APIKey, APISecret string
	// Nodes change when the controls restart one: read them through Node
	// or NodeStates while controls may run.
	Nodes  []*node.Node
	Relays map[[2]string]*udprelay.Relay // by trunk (dialer, acceptor)

	// The live controls (demo_control.go).
	ctx    context.Context
	logger *slog.Logger
	api    *demoAPI
	mu     sync.Mutex
	cfgs   map[string]node.Config          // by name, with the ports pinned
	links  map[[2]string]netsim.LinkConfig // by relay key
	closed bool
}

// Node returns the named node, or nil.
func (n *network) Node(name string) *node.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.Nodes {
		if x.Name() == name {
			return x
		}
	}
	return nil
}

// Close stops every node and relay.
func (n *network) Close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.api.wait()
	for _, x := range n.Nodes {
		_ = x.Close()
	}
	for _, r := range n.Relays {
		_ = r.Close()
	}
}

// startNetwork builds and starts the nodes. A trunk's dialer is the node
// with the smaller name, so nodes are built largest name first: every node
// a node dials already listens, and the relay in front of it can be set up.
func startNetwork(ctx context.Context, spec networkSpec, logger *slog.Logger) (*network, error) {
	net := &network{Relays: map[[2]string]*udprelay.Relay{}, ctx: ctx, logger: logger,
		cfgs: map[string]node.Config{}, links: map[[2]string]netsim.LinkConfig{},
		APIKey: spec.APIKey, APISecret: spec.APISecret}
	if net.APISecret == "" {
		net.APIKey, net.APISecret = "demo"+randomToken(4), randomToken(24)
	}
	net.api = &demoAPI{net: net}
	keys := map[string]handshake.KeyPair{}
	byName := map[string]nodeSpec{}
	for _, ns := range spec.Nodes {
		kp, err := handshake.GenerateKeyPair(nil)
		if err != nil {
			return nil, err
		}
		keys[ns.Name], byName[ns.Name] = kp, ns
	}
	order := slices.Clone(spec.Nodes)
	slices.SortFunc(order, func(a, b nodeSpec) int { return strings.Compare(b.Name, a.Name) })
	printed := slices.Clone(spec.Nodes)
	slices.SortFunc(printed, printOrder)
	addrs := map[string]string{}
	for _, ns := range order {
		kp := keys[ns.Name]
		tc := &trunk.Config{Listen: "127.0.0.1:0", Key: &kp, CongestionControl: spec.CC}
		for _, tk := range spec.Trunks {
			other := ""
			switch ns.Name {
			case tk[0]:
				other = tk[1]
			case tk[1]:
				other = tk[0]
			default:
				continue
			}
			p := trunk.Peer{Name: other, Region: byName[other].Region, Role: route.Role(byName[other].Role),
				PublicKey: keys[other].Public.String()}
			if ns.Name < other {
				r, err := udprelay.New(ctx, udprelay.Config{Listen: "127.0.0.1:0", Upstream: addrs[other],
					Up: spec.Link, Down: spec.Link, Seed: uint64(len(net.Relays) + 1), Logger: logger})
				if err != nil {
					net.Close()
					return nil, err
				}
				net.Relays[[2]string{ns.Name, other}] = r
				net.links[[2]string{ns.Name, other}] = spec.Link
				p.Addr = r.Addr().String()
			}
			tc.Peers = append(tc.Peers, p)
		}
		cfg := node.Config{Name: ns.Name, Region: ns.Region, Role: ns.Role, HTTPAddr: "127.0.0.1:0",
			Dev: ns.Role == "access", Trunk: tc, Mount: net.api.mount(ns.Name), APIKey: net.APIKey, APISecret: net.APISecret,
			Quality: node.QualityConfig{Database: spec.QualityDB}}
		cfg.SFU.UDPAddr = "127.0.0.1:0"
		// Every access node runs its TURN server: &relay=1 on the page sends
		// media through it (UDP and TCP handed out; TLS with a self-signed
		// certificate is there for clients told to trust it).
		cfg.TURN = turnsrv.Config{Enabled: ns.Role == "access", UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"}
		if spec.HTTPBase > 0 {
			cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", spec.HTTPBase+slices.IndexFunc(printed, func(x nodeSpec) bool { return x.Name == ns.Name }))
		}
		spec.placeNode(&cfg)
		if spec.Tune != nil {
			spec.Tune(&cfg)
		}
		n, err := node.New(cfg, logger)
		if err != nil {
			net.Close()
			return nil, fmt.Errorf("node %s: %w", ns.Name, err)
		}
		net.Nodes = append(net.Nodes, n)
		net.cfgs[ns.Name] = pinPorts(cfg, n)
		addrs[ns.Name] = n.Trunk().Addr().String()
	}
	slices.SortFunc(net.Nodes, func(a, b *node.Node) int {
		return printOrder(nodeSpec{Name: a.Name(), Role: a.Role()}, nodeSpec{Name: b.Name(), Role: b.Role()})
	})
	for _, n := range net.Nodes {
		if err := n.Start(ctx); err != nil {
			net.Close()
			return nil, err
		}
	}
	return net, nil
}

// randomToken is n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// printOrder lists access nodes first, then forwarding nodes, by name.
func printOrder(a, b nodeSpec) int {
	if a.Role != b.Role {
		return strings.Compare(a.Role, b.Role) // "access" < "forwarding"
	}
	return strings.Compare(a.Name, b.Name)
}
