package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// The live controls of a demo network: every trunk's emulated link and
// every node's life can be changed while the network runs. demo_api.go
// serves them over HTTP on every node (POST /api/demo/link, /api/demo/node).

// Errors the controls answer with; the HTTP API maps them to status codes.
var (
	errNoSuchNode  = errors.New("no such node")
	errNoSuchTrunk = errors.New("no such trunk")
	errBadLink     = errors.New("bad link settings")
)

// LinkSettings is one trunk's emulated link, the same in both directions.
type LinkSettings struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	DelayMs float64 `json:"delay_ms"`
	// JitterMs is the uniform jitter around the delay.
	JitterMs float64 `json:"jitter_ms"`
	// Loss is the mean loss, 0..1.
	Loss float64 `json:"loss"`
	// Burst is the mean length of a loss run in packets (Gilbert-Elliott);
	// 0 or 1 is independent (Bernoulli) loss.
	Burst float64 `json:"burst"`
	// RateBps is the bottleneck rate, 0 = unlimited (kept as configured).
	RateBps float64 `json:"rate_bps"`
}

// NodeState is one node of the demo as the controls see it.
type NodeState struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	Role    string `json:"role"`
	URL     string `json:"url"`
	Running bool   `json:"running"`
}

// linkConfig turns settings into the relay's link model; the rate and
// queue come from the current configuration.
func (s LinkSettings) linkConfig(cur netsim.LinkConfig) (netsim.LinkConfig, error) {
	switch {
	case s.DelayMs < 0 || s.DelayMs > 10_000 || s.JitterMs < 0 || s.JitterMs > 10_000:
		return cur, fmt.Errorf("%w: delay_ms and jitter_ms must be in [0, 10000]", errBadLink)
	case s.Loss < 0 || s.Loss >= 1:
		return cur, fmt.Errorf("%w: loss must be in [0, 1)", errBadLink)
	case s.Burst < 0 || s.Burst > 10_000:
		return cur, fmt.Errorf("%w: burst must be in [0, 10000] packets", errBadLink)
	}
	c := cur
	c.Delay = time.Duration(s.DelayMs * float64(time.Millisecond))
	c.Jitter = time.Duration(s.JitterMs * float64(time.Millisecond))
	c.Loss = netsim.Bernoulli(s.Loss)
	if s.Burst > 1 && s.Loss > 0 {
		m, err := netsim.Burst(s.Loss, s.Burst)
		if err != nil {
			return cur, fmt.Errorf("%w: %v", errBadLink, err)
		}
		c.Loss = m
	}
	return c, nil
}

// settingsOf describes a link model as settings.
func settingsOf(key [2]string, c netsim.LinkConfig) LinkSettings {
	s := LinkSettings{From: key[0], To: key[1], DelayMs: float64(c.Delay) / 1e6, JitterMs: float64(c.Jitter) / 1e6,
		Loss: c.Loss.MeanLoss(), RateBps: c.Rate}
	if c.Loss.Kind == netsim.LossGilbertElliott && c.Loss.GE.R > 0 {
		s.Burst = 1 / c.Loss.GE.R
	}
	return s
}

// trunkKey finds the relay of the trunk between a and b, in either order.
func (n *network) trunkKey(a, b string) ([2]string, bool) {
	for _, k := range [][2]string{{a, b}, {b, a}} {
		if _, ok := n.Relays[k]; ok {
			return k, true
		}
	}
	return [2]string{}, false
}

// SetLink changes the emulated link of the trunk between s.From and s.To,
// both directions, from the next datagram on.
func (n *network) SetLink(s LinkSettings) (LinkSettings, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	key, ok := n.trunkKey(s.From, s.To)
	if !ok {
		return s, fmt.Errorf("%w: %s–%s (GET /api/demo/links lists them)", errNoSuchTrunk, s.From, s.To)
	}
	c, err := s.linkConfig(n.links[key])
	if err != nil {
		return s, err
	}
	n.Relays[key].SetLinks(c, c)
	n.links[key] = c
	out := settingsOf(key, c)
	out.From, out.To = s.From, s.To
	return out, nil
}

// Links lists every trunk's link settings, sorted.
func (n *network) Links() []LinkSettings {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]LinkSettings, 0, len(n.links))
	for k, c := range n.links {
		out = append(out, settingsOf(k, c))
	}
	slices.SortFunc(out, func(a, b LinkSettings) int {
		if a.From != b.From {
			return strings.Compare(a.From, b.From)
		}
		return strings.Compare(a.To, b.To)
	})
	return out
}

// NodeStates lists the nodes in print order with whether they run.
func (n *network) NodeStates() []NodeState {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]NodeState, 0, len(n.Nodes))
	for _, x := range n.Nodes {
		st := NodeState{Name: x.Name(), Region: x.Region(), Role: x.Role(), URL: x.URL(), Running: true}
		select {
		case <-x.Done():
			st.Running = false
		default:
		}
		out = append(out, st)
	}
	return out
}

// StopNode closes a node as a crash would look to its peers and clients:
// its sockets close, its trunks go down, its participants are dropped.
// Stopping a stopped node is not an error.
func (n *network) StopNode(name string) error {
	n.mu.Lock()
	i := slices.IndexFunc(n.Nodes, func(x *node.Node) bool { return x.Name() == name })
	if i < 0 {
		n.mu.Unlock()
		return fmt.Errorf("%w: %q", errNoSuchNode, name)
	}
	x := n.Nodes[i]
	n.mu.Unlock()
	return x.Close()
}

// StartNode starts a stopped node again, with its configuration, keys and
// ports of before: its peers and relays find it where it was. Starting a
// running node is not an error.
func (n *network) StartNode(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := slices.IndexFunc(n.Nodes, func(x *node.Node) bool { return x.Name() == name })
	if i < 0 {
		return fmt.Errorf("%w: %q", errNoSuchNode, name)
	}
	select {
	case <-n.Nodes[i].Done():
	default:
		return nil
	}
	if n.closed {
		return errors.New("the demo network is closing")
	}
	cfg := n.cfgs[name]
	var x *node.Node
	var err error
	// The old node's ports were just released; on a busy host the kernel
	// may take a moment to hand them out again.
	for try := 0; try < 20; try++ {
		if x, err = node.New(cfg, n.logger); err == nil || !isAddrInUse(err) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if err := x.Start(n.ctx); err != nil {
		_ = x.Close()
		return err
	}
	n.Nodes[i] = x
	n.logger.Info("demo node started again", "node", name)
	return nil
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// pinPorts returns cfg with the ports the running node x got, so that the
// node can start again on the same addresses.
func pinPorts(cfg node.Config, x *node.Node) node.Config {
	cfg.HTTPAddr = x.HTTPAddr()
	if s := x.SFU(); s != nil {
		cfg.SFU.UDPAddr = "127.0.0.1:" + strconv.Itoa(s.UDPAddr().(*net.UDPAddr).Port)
	}
	if t := x.Trunk(); t != nil && cfg.Trunk != nil {
		tc := *cfg.Trunk
		tc.Listen = t.Addr().String()
		cfg.Trunk = &tc
	}
	return cfg
}

// demoQualityDB gives every node of the demo one quality store, so that
// the records of every hop of a call meet and /quality on any node can
// attribute its stalls: db when given, else a SQLite file in a temporary
// directory that cleanup removes.
func demoQualityDB(spec *networkSpec, db string) (cleanup func(), err error) {
	if db != "" {
		spec.QualityDB = db
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "qrtn-demo-")
	if err != nil {
		return nil, err
	}
	spec.QualityDB = filepath.Join(dir, "quality.db")
	return func() { _ = os.RemoveAll(dir) }, nil
}
