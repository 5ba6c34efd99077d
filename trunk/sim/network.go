package sim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
)

// NodeSpec is one node of a simulated network.
type NodeSpec struct {
	Name   string     `yaml:"name"`
	Region string     `yaml:"region"`
	Role   route.Role `yaml:"role"`
}

// LinkSpec is a trunk between two nodes and the emulated path under it:
// AB from A to B and BA back (BA nil: the same as AB).
type LinkSpec struct {
	A, B string
	AB   netsim.LinkConfig
	BA   *netsim.LinkConfig
}

// Config builds a Network.
type Config struct {
	Seed  uint64
	Nodes []NodeSpec
	Links []LinkSpec
	// Tune may change every node's trunk configuration (intervals,
	// timeouts, scenarios) before its Core is built.
	Tune func(*trunk.Config)
	// Logger receives the Cores' logs (they carry virtual timestamps only
	// through their content); nil discards them.
	Logger *slog.Logger
	// PollEachArrival polls a node after every datagram, not after all
	// the datagrams that reach it at one instant (netsim.Config's
	// BatchArrivals, which is how a real node's driver drains its socket
	// before it polls its Core). Runs before 2026-12-07 did this.
	PollEachArrival bool
}

// Network is a simulated qrtn network: one trunk.Core per node over a
// netsim.Sim, synthetic users on the access nodes, and the metrics of what
// crossed it. Not safe for concurrent use.
type Network struct {
	cfg       Config
	sim       *netsim.Sim
	nodes     map[string]*Node
	order     []*Node // by name
	regions   map[string][]*Node
	M         *Metrics
	stopTk    func()
	agenda    agenda
	agendaSeq int
	// ssrcs gives every track layer ever published its SSRC, unique in
	// the network, so that the per-packet metrics find a layer by the
	// SSRC in its packets (ssrcUsed: the SSRCs taken).
	ssrcs    map[flowID]uint32
	ssrcUsed map[uint32]bool
	// OnDeliver, when set, sees every packet delivered to a node's
	// viewers (tests count them).
	OnDeliver func(node string, ref trunk.TrackRef, layer int, b []byte)
}

// Node is one simulated node.
type Node struct {
	Spec  NodeSpec
	Addr  netip.AddrPort
	Core  *trunk.Core // the current life's; nil before Start
	key   handshake.KeyPair
	cfg   trunk.Config
	local *local
	net   *Network
	index int
	lives int
	up    bool
	// draining: the node's users are moving away; the placer skips it.
	draining bool
	hops     map[uint32]*hopTrack // frames seen here by SSRC, for per-hop latency
	past     trunk.Counters       // totals of the node's earlier lives
}

// Counters returns the node's trunk counters over all its lives.
func (nd *Node) Counters() trunk.Counters {
	if nd.Core == nil {
		return nd.past
	}
	return addCounters(nd.past, nd.Core.Counters())
}

func addCounters(a, b trunk.Counters) trunk.Counters {
	out := b
	out.Control = map[string]trunk.MessageCount{}
	for _, m := range []map[string]trunk.MessageCount{a.Control, b.Control} {
		for k, v := range m {
			x := out.Control[k]
			x.Msgs += v.Msgs
			x.Bytes += v.Bytes
			out.Control[k] = x
		}
	}
	out.ControlReceived += a.ControlReceived
	out.BytesSent += a.BytesSent
	out.FECBytes += a.FECBytes
	out.RetransmittedBytes += a.RetransmittedBytes
	out.MediaBytesSent += a.MediaBytesSent
	out.MessagesExpired += a.MessagesExpired
	out.Switches += a.Switches
	out.TrunkFailures += a.TrunkFailures
	out.Keyframes += a.Keyframes
	return out
}

// mediaTick is how often synthetic publishers emit what is due and
// users' changes reach their Cores.
const mediaTick = 10 * time.Millisecond

// New builds the network, starts every node and the media clock.
func New(cfg Config) (*Network, error) {
	n := &Network{cfg: cfg, sim: netsim.New(netsim.Config{Seed: cfg.Seed, BatchArrivals: !cfg.PollEachArrival}), nodes: map[string]*Node{},
		regions: map[string][]*Node{}, ssrcs: map[flowID]uint32{}, ssrcUsed: map[uint32]bool{}}
	n.M = newMetrics(n)
	specs := slices.Clone(cfg.Nodes)
	slices.SortFunc(specs, func(a, b NodeSpec) int { return strings.Compare(a.Name, b.Name) })
	for i, s := range specs {
		if s.Name == "" || n.nodes[s.Name] != nil {
			return nil, fmt.Errorf("sim: node name %q empty or repeated", s.Name)
		}
		if s.Role == "" {
			s.Role = route.Access
		}
		kp, err := handshake.GenerateKeyPair(n.rand("key", s.Name, 0))
		if err != nil {
			return nil, err
		}
		nd := &Node{Spec: s, key: kp, net: n, index: i, hops: map[uint32]*hopTrack{},
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte((i + 1) >> 16), byte((i + 1) >> 8), byte(i + 1)}), 7890)}
		n.nodes[s.Name] = nd
		n.order = append(n.order, nd)
		n.regions[s.Region] = append(n.regions[s.Region], nd)
	}
	for _, nd := range n.order {
		nd.cfg = trunk.Config{Name: nd.Spec.Name, Region: nd.Spec.Region, Role: nd.Spec.Role,
			Listen: nd.Addr.String(), Key: &nd.key}
	}
	for _, l := range cfg.Links {
		a, b := n.nodes[l.A], n.nodes[l.B]
		if a == nil || b == nil || a == b {
			return nil, fmt.Errorf("sim: link %s–%s: unknown node", l.A, l.B)
		}
		ba := l.AB
		if l.BA != nil {
			ba = *l.BA
		}
		n.sim.SetPath(a.Addr, b.Addr, l.AB, ba)
		a.cfg.Peers = append(a.cfg.Peers, b.peerOf())
		b.cfg.Peers = append(b.cfg.Peers, a.peerOf())
	}
	for _, nd := range n.order {
		if cfg.Tune != nil {
			cfg.Tune(&nd.cfg)
		}
		if err := nd.start(); err != nil {
			return nil, err
		}
	}
	n.stopTk = n.sim.Every(mediaTick, n.tick)
	return n, nil
}

func (nd *Node) peerOf() trunk.Peer {
	return trunk.Peer{Name: nd.Spec.Name, Region: nd.Spec.Region, Role: nd.Spec.Role, Addr: nd.Addr.String(),
		PublicKey: nd.key.Public.String()}
}

// rand returns a deterministic random stream for a purpose, a node and a
// life of that node.
func (n *Network) rand(purpose, node string, life int) *rand.ChaCha8 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n.cfg.Seed)
	h.Write(b[:])
	fmt.Fprintf(h, "/%s/%s/%d", purpose, node, life)
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], h.Sum64())
	binary.LittleEndian.PutUint64(seed[8:], n.cfg.Seed)
	return rand.NewChaCha8(seed)
}

// start builds a new life of the node (a fresh Core, no users) and
// attaches it.
func (nd *Node) start() error {
	n := nd.net
	if nd.Core != nil {
		nd.past = nd.Counters()
	}
	nd.lives++
	cfg := nd.cfg
	cfg.Rand = n.rand("core", nd.Spec.Name, nd.lives)
	var loc trunk.Local
	nd.local = nil
	if nd.Spec.Role == route.Access {
		nd.local = newLocal(nd)
		loc = nd.local
	}
	logger := n.cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	core, err := trunk.NewCore(n.sim.Now(), cfg, loc, logger)
	if err != nil {
		return fmt.Errorf("sim: node %s: %w", nd.Spec.Name, err)
	}
	nd.Core = core
	nd.draining = false
	if nd.local != nil {
		nd.local.core = core
	}
	core.SetTap(nd.tap)
	nd.hops = map[uint32]*hopTrack{}
	if attached, _ := n.sim.Addr(nd.Addr); attached {
		_ = n.sim.Detach(nd.Addr)
	}
	nd.up = true
	return n.sim.Attach(nd.Addr, core)
}

// ssrc is the SSRC of a track layer: a hash of its name, made unique in
// the network on a collision; the same layer always gets the same one.
func (n *Network) ssrc(ref trunk.TrackRef, layer int) uint32 {
	id := flowID{ref, layer}
	if s, ok := n.ssrcs[id]; ok {
		return s
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", ref, layer)
	s := h.Sum32()
	for n.ssrcUsed[s] {
		s = s*2654435761 + 1
	}
	n.ssrcs[id], n.ssrcUsed[s] = s, true
	return s
}

// Node returns a node by name, or nil.
func (n *Network) Node(name string) *Node { return n.nodes[name] }

// Nodes returns every node, by name.
func (n *Network) Nodes() []*Node { return n.order }

// Now is the virtual time.
func (n *Network) Now() time.Time { return n.sim.Now() }

// Elapsed is the virtual time since the start.
func (n *Network) Elapsed() time.Duration { return n.sim.Elapsed() }

// RunFor runs the network for d of virtual time.
func (n *Network) RunFor(d time.Duration) { n.sim.RunFor(d) }

// RunUntil runs until cond holds, checked every step of mediaTick, or
// until limit passes; it reports whether cond held.
func (n *Network) RunUntil(limit time.Duration, cond func() bool) bool {
	end := n.sim.Now().Add(limit)
	for n.sim.Now().Before(end) {
		if cond() {
			return true
		}
		n.sim.RunFor(mediaTick)
	}
	return cond()
}

// At runs fn at virtual time since the start of the run.
func (n *Network) At(at time.Duration, fn func()) { n.sim.At(netsim.Epoch().Add(at), fn) }

// Kill stops a node silently, as a crashed machine or a cut cable looks:
// nothing it had queued is sent and nothing reaches it. Its users are gone.
func (n *Network) Kill(name string) error {
	nd := n.nodes[name]
	if nd == nil || !nd.up {
		return fmt.Errorf("sim: kill %s: no such running node", name)
	}
	n.M.failure(n.sim.Now(), name)
	nd.up = false
	n.M.nodeGone(nd)
	return n.sim.Down(nd.Addr)
}

// Stop stops a node gracefully: its trunks are closed (peers re-route at
// once), then it goes down.
func (n *Network) Stop(name string) error {
	nd := n.nodes[name]
	if nd == nil || !nd.up {
		return fmt.Errorf("sim: stop %s: no such running node", name)
	}
	n.M.failure(n.sim.Now(), name)
	nd.Core.Close()
	nd.up = false
	n.M.nodeGone(nd)
	if err := n.sim.Wake(nd.Addr); err != nil {
		return err
	}
	n.sim.After(time.Millisecond, func() { _ = n.sim.Down(nd.Addr) })
	return nil
}

// Restart starts a new life of a stopped or killed node: a new Core with
// the same key and address, no users, sequence numbers from the clock.
func (n *Network) Restart(name string) error {
	nd := n.nodes[name]
	if nd == nil || nd.up {
		return fmt.Errorf("sim: restart %s: no such stopped node", name)
	}
	return nd.start()
}

// SetLink changes the emulated path between two nodes, both directions.
func (n *Network) SetLink(a, b string, cfg netsim.LinkConfig) error {
	na, nb := n.nodes[a], n.nodes[b]
	if na == nil || nb == nil {
		return fmt.Errorf("sim: link %s–%s: unknown node", a, b)
	}
	n.sim.SetPath(na.Addr, nb.Addr, cfg, cfg)
	return nil
}

// Link returns the current configuration of the path a → b.
func (n *Network) Link(a, b string) (netsim.LinkConfig, bool) {
	na, nb := n.nodes[a], n.nodes[b]
	if na == nil || nb == nil {
		return netsim.LinkConfig{}, false
	}
	l := n.sim.Link(na.Addr, nb.Addr)
	if l == nil {
		return netsim.LinkConfig{}, false
	}
	return l.Config(), true
}

// Up reports whether a node is running.
func (nd *Node) Up() bool { return nd.up }

// tick is the media clock: every running access node emits its due frames
// and passes its users' changes to its Core.
func (n *Network) tick() {
	n.runAgenda()
	now := n.sim.Now()
	for _, nd := range n.order {
		if nd.up && nd.local != nil {
			nd.local.tick(now)
		}
	}
	n.M.tick(now)
}

// Close stops the media clock.
func (n *Network) Close() { n.stopTk() }

// Join places a user on an access node.
func (n *Network) Join(node string, u User) error {
	nd := n.nodes[node]
	if nd == nil || !nd.up || nd.local == nil {
		return fmt.Errorf("sim: join %s: no running access node %q", u.ID, node)
	}
	if u.Mode == "" {
		u.Mode = "meeting"
	}
	return nd.local.join(u)
}

// Leave takes a user off a node.
func (n *Network) Leave(node, room, id string) error {
	nd := n.nodes[node]
	if nd == nil || nd.local == nil || !nd.local.leave(room, id) {
		return fmt.Errorf("sim: leave: no user %s in room %s on %q", id, room, node)
	}
	return nil
}

// Prefer changes the video layer a user watches.
func (n *Network) Prefer(node, room, id string, layer int) error {
	nd := n.nodes[node]
	if nd == nil || nd.local == nil || nd.local.rooms[room] == nil || nd.local.rooms[room].users[id] == nil {
		return fmt.Errorf("sim: prefer: no user %s in room %s on %q", id, room, node)
	}
	nd.local.rooms[room].users[id].Layer = layer
	nd.local.dirty[room] = true
	return nil
}

// SimStats returns the simulator's counters.
func (n *Network) SimStats() netsim.Stats { return n.sim.Stats() }
