package trunk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// Config is a node's trunk configuration: who it is, where it listens for
// QRTP, and the peers it keeps trunks to. Name, Region and Role are normally
// copied from the node's own configuration.
type Config struct {
	Name   string     `yaml:"-"`
	Region string     `yaml:"-"`
	Role   route.Role `yaml:"-"`

	// Listen is the UDP address of the node's QRTP endpoint. Default
	// ":7890"; port 0 picks a free port.
	Listen string `yaml:"listen"`
	// KeyFile holds the node's private key (one base64 line, as written by
	// `qrtn key`); it is created with a fresh key when missing.
	KeyFile string `yaml:"key_file"`
	// Key, when set, is used instead of KeyFile (in-process networks and tests).
	Key *handshake.KeyPair `yaml:"-"`
	// Rand, when set, replaces crypto/rand for connection IDs, handshakes
	// and re-dial jitter: the simulator passes a seeded source so that a
	// run repeats exactly.
	Rand io.Reader `yaml:"-"`
	// Peers are the nodes this node keeps trunks to. Only their keys may
	// connect.
	Peers []Peer `yaml:"peers"`

	// KeepAlive and IdleTimeout: a trunk that hears nothing for IdleTimeout
	// is declared lost (and re-routed around); keep-alive pings make sure an
	// idle but healthy trunk is never silent that long. Defaults 200 ms and 1.5 s.
	KeepAlive   time.Duration `yaml:"keep_alive"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// FailoverAfter: the flows a trunk feeds move to another route when it
	// has been silent this long while media flowed on it (at least a round
	// trip and a keep-alive interval plus 100 ms; failover.go). Default
	// 300 ms; negative: wait for the idle timeout.
	FailoverAfter time.Duration `yaml:"failover_after"`
	// RedialMin and RedialMax bound the exponential back-off between dials
	// of a lost trunk. Defaults 250 ms and 5 s. RedialRecent caps it
	// instead for a peer whose trunk was up within the last minute
	// (default 1 s): a node that restarts is most likely back within
	// seconds, and its trunks should be too.
	RedialMin    time.Duration `yaml:"redial_min"`
	RedialMax    time.Duration `yaml:"redial_max"`
	RedialRecent time.Duration `yaml:"redial_recent"`
	// LinkStateInterval is how often the node measures its trunks and
	// floods their metrics and its load if they changed enough to matter
	// to the planner (default 1 s); a trunk coming up or going down is
	// flooded at once. LinkStateRefresh floods them even unchanged
	// (default 10 s); an origin's link state expires after four refreshes
	// without one. A node no path of up trunks reaches is forgotten much
	// sooner (see PROTOCOL.md).
	LinkStateInterval time.Duration `yaml:"link_state_interval"`
	LinkStateRefresh  time.Duration `yaml:"link_state_refresh"`
	// ReplanInterval is how often routes are re-planned from the latest
	// link state (default 1 s). A lost trunk re-plans at once.
	ReplanInterval time.Duration `yaml:"replan_interval"`
	// FloodBatch: room records, and link-state records that change no
	// trunk's state, that this node floods (its own or relayed) go out at
	// most once per FloodBatch, together, so that a storm of changes
	// fills datagrams instead of sending one (and its ACK) per record
	// and trunk (flood_batch.go). A change after a quiet FloodBatch goes
	// at once. Zero or negative (the default): every record at once. Off
	// by default: in qrtn sim's backbone50 it cut the join storm's
	// datagrams five times, but the failover after it looked worse
	// (stalls 7 -> 407), because it changed which forwarding node carries
	// the bundle the failure moves, not because of flooding (killing the
	// other node turns the figures round: docs/sim-results.md, round 4).
	FloodBatch time.Duration `yaml:"flood_batch"`
	// ScopedRooms (access nodes): ask neighbours for the room records of
	// the rooms this node hosts only, instead of every room of the
	// network (flood_scope.go). Off by default: /api/rooms, the network
	// page and the join placer of a scoped node see only its own rooms.
	ScopedRooms bool `yaml:"scoped_rooms"`
	// CongestionControl names the QRTP controller of trunks; empty takes
	// "qrtp"'s qbbr when it is built in, else the profile's default.
	CongestionControl string `yaml:"cc"`
	// Capacity is the number of forwarded track layers at which the node
	// reports itself fully loaded to the route planner. Default 2000.
	Capacity int `yaml:"capacity"`
	// Scenarios override the per-mode media settings (keys "meeting" and
	// "live").
	Scenarios map[string]Scenario `yaml:"scenarios"`
	// Costs and Hysteresis tune the route planner.
	Costs      route.Costs      `yaml:"-"`
	Hysteresis route.Hysteresis `yaml:"-"`
}

// Peer is another node as configured: its identity, its QRTP address and
// its public key.
type Peer struct {
	Name   string     `yaml:"name"`
	Region string     `yaml:"region"`
	Role   route.Role `yaml:"role"`
	// Addr is the peer's QRTP address (host:port). It is only dialled by
	// the side with the lexically smaller name, but set it on both.
	Addr string `yaml:"addr"`
	// PublicKey is the peer's static key in base64 (`qrtn key --show`).
	PublicKey string `yaml:"public_key"`
}

// Scenario is how a room's media crosses trunks. Loss on a hop is repaired
// by QRTP: FEC sized from the measured loss so that most packets need no
// retransmission, and retransmission for the rest while it can arrive in
// time.
type Scenario struct {
	// Deadline is how long a forwarded RTP packet may take across one
	// trunk (raised on long trunks to leave two retransmission rounds,
	// see hopDeadline); QRTP retransmits only while it can still arrive in
	// time, and drops the packet after.
	Deadline time.Duration `yaml:"deadline"`
	// Latency is what a hop may add to its link's one-way delay for
	// nearly every packet, even on a lossy trunk: FEC is sized so that a
	// packet rarely has to wait for a retransmission round that would end
	// later than the one-way delay plus Latency (QRTP's FECLatency).
	Latency time.Duration `yaml:"latency"`
	// FECBudget is the most FEC overhead QRTP may add (repair bytes per
	// media byte). It is a ceiling: a clean trunk gets no FEC at all.
	FECBudget float64 `yaml:"fec_budget"`
	// DualAudio carries the audio of this mode's rooms to an access node
	// over two routes whose first hops differ (standby.go): the failure of
	// a forwarding node on one costs no audio at all. It doubles audio on
	// the trunks.
	DualAudio bool `yaml:"dual_audio"`
}

// defaultScenarios: both modes aim FEC at the mission's per-hop target
// (the link's delay plus 30 ms at p95, even at 20% loss), which on a
// 100 ms trunk is less than one retransmission round trip. They differ in
// what they do with the few packets FEC cannot rebuild. Meetings put
// latency first: a packet later than a quarter second is useless to a
// conversation, so it is dropped, and FEC may spend up to four times the
// media rate (qrtp's meeting profile: at 50% loss a 6-packet frame needs
// 21-23 repairs to be whole 99.9% of the time; a cap of three times
// lost 0.33% of frames). Live rooms put
// quality first: a viewer tolerates most of a second, which leaves several
// retransmission rounds, so nothing is lost, at a slightly lower budget
// (qrtp's live profile).
func defaultScenarios() map[string]Scenario {
	return map[string]Scenario{
		string(route.Meeting): {Deadline: 250 * time.Millisecond, Latency: 30 * time.Millisecond, FECBudget: 4},
		string(route.Live):    {Deadline: 800 * time.Millisecond, Latency: 30 * time.Millisecond, FECBudget: 2.5},
	}
}

// peerInfo is a validated Peer.
type peerInfo struct {
	Name, Region string
	Role         route.Role
	Addr         netip.AddrPort // zero when the address does not resolve yet
	AddrText     string
	Key          handshake.PublicKey
}

// defaultListen is the QRTP port when the configuration sets none.
const defaultListen = ":7890"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("trunk: bad configuration")

func (c Config) withDefaults() (Config, []peerInfo, handshake.KeyPair, error) {
	var kp handshake.KeyPair
	if c.Name == "" {
		return c, nil, kp, fmt.Errorf("%w: node name missing", ErrConfig)
	}
	if c.Role == "" {
		c.Role = route.Access
	}
	if c.Role != route.Access && c.Role != route.Forwarding {
		return c, nil, kp, fmt.Errorf("%w: role %q (access or forwarding)", ErrConfig, c.Role)
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.KeepAlive, 200*time.Millisecond)
	def(&c.IdleTimeout, 1500*time.Millisecond)
	if c.FailoverAfter == 0 {
		c.FailoverAfter = 300 * time.Millisecond
	}
	def(&c.RedialMin, 250*time.Millisecond)
	def(&c.RedialMax, 5*time.Second)
	def(&c.RedialRecent, time.Second)
	c.RedialRecent = min(c.RedialRecent, c.RedialMax)
	def(&c.LinkStateInterval, time.Second)
	def(&c.LinkStateRefresh, 10*time.Second)
	c.LinkStateRefresh = max(c.LinkStateRefresh, c.LinkStateInterval)
	def(&c.ReplanInterval, time.Second)
	if c.Capacity <= 0 {
		c.Capacity = 2000
	}
	if c.CongestionControl == "" {
		for _, n := range cc.Names() {
			if n == "qbbr" {
				c.CongestionControl = n
			}
		}
	}
	sc := defaultScenarios()
	for k, v := range c.Scenarios {
		base, ok := sc[k]
		if !ok {
			return c, nil, kp, fmt.Errorf("%w: scenario %q (meeting or live)", ErrConfig, k)
		}
		if v.Deadline > 0 {
			base.Deadline = v.Deadline
		}
		if v.Latency > 0 {
			base.Latency = v.Latency
		}
		if v.FECBudget != 0 {
			base.FECBudget = v.FECBudget
		}
		base.DualAudio = v.DualAudio
		sc[k] = base
	}
	c.Scenarios = sc

	switch {
	case c.Key != nil:
		kp = *c.Key
	case c.KeyFile != "":
		var err error
		if kp, err = handshake.LoadOrCreateKeyPair(c.KeyFile, rand.Reader); err != nil {
			return c, nil, kp, fmt.Errorf("trunk: key: %w", err)
		}
	default:
		return c, nil, kp, fmt.Errorf("%w: key_file missing", ErrConfig)
	}

	peers := make([]peerInfo, 0, len(c.Peers))
	seen := map[string]bool{c.Name: true}
	keys := map[handshake.PublicKey]bool{kp.Public: true}
	for _, p := range c.Peers {
		if p.Name == "" || seen[p.Name] {
			return c, nil, kp, fmt.Errorf("%w: peer name %q empty or repeated", ErrConfig, p.Name)
		}
		seen[p.Name] = true
		if p.Role == "" {
			p.Role = route.Forwarding
		}
		if p.Role != route.Access && p.Role != route.Forwarding {
			return c, nil, kp, fmt.Errorf("%w: peer %s: role %q", ErrConfig, p.Name, p.Role)
		}
		key, err := handshake.ParsePublicKey(p.PublicKey)
		if err != nil {
			return c, nil, kp, fmt.Errorf("%w: peer %s: public_key: %v", ErrConfig, p.Name, err)
		}
		if keys[key] {
			return c, nil, kp, fmt.Errorf("%w: peer %s: public key repeated", ErrConfig, p.Name)
		}
		keys[key] = true
		pi := peerInfo{Name: p.Name, Region: p.Region, Role: p.Role, AddrText: p.Addr, Key: key}
		if c.Name < p.Name {
			// We dial this peer, so its address must be valid now.
			if pi.Addr, err = resolve(p.Addr); err != nil {
				return c, nil, kp, fmt.Errorf("%w: peer %s: addr %q: %v", ErrConfig, p.Name, p.Addr, err)
			}
		}
		peers = append(peers, pi)
	}
	return c, peers, kp, nil
}

// resolve parses host:port, looking the host up in DNS when it is a name.
func resolve(addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap, nil
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	if !ap.Addr().IsValid() || ap.Addr().IsUnspecified() || ap.Port() == 0 {
		return netip.AddrPort{}, errors.New("not a host:port to dial")
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// dials reports whether this node dials the peer: the lexically smaller
// name dials, so two nodes never open two trunks to each other.
func dials(self, peer string) bool { return self < peer }
