// Package cc holds QRTP's congestion controllers and what they share: the
// delivery-rate sampler (sampler.go, after
// draft-cheng-iccrg-delivery-rate-estimation), Nichols' windowed min/max
// filter (minmax.go) and the Controller interface the connection core
// drives. The controllers, by registry name:
//
//   - "qbbr" (qbbr*.go), ours and the default: BBR with noise-loss
//     compensation and a short, shallow ProbeRTT; one file per state over
//     a shared model, as Chromium's BBR2 is laid out.
//   - "bbr1" (bbr1*.go): BBRv1 as Linux tcp_bbr.c runs it, the baseline the
//     talk measured QUIC with.
//   - "cubic" (cubic.go): RFC 9438, the loss-based baseline.
//   - "newreno" (newreno.go): RFC 9002's simple loss-based controller.
//
// A name may carry parameters ("qbbr:probertt=2s,strict"; see New).
//
// It knows packets only as numbers, sizes and times. It must not know frames,
// streams, sockets or wall-clock time: every method is handed `now`.
package cc

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SentPacket describes one packet as it leaves the sender. Packets that carry
// only ACK frames are not reported: they are not congestion controlled.
type SentPacket struct {
	Number   uint64
	Bytes    int       // whole datagram size on the wire
	SentTime time.Time // equal to now in OnPacketSent
	// BytesInFlight after this packet was added.
	BytesInFlight int
	// FEC marks a packet that carries only FEC repair data. It counts as sent
	// and in flight like any other packet; controllers may report it apart.
	FEC bool
	// Retransmission marks a packet that carries only retransmitted data.
	Retransmission bool
}

// Packet is an acknowledged or lost packet.
type Packet struct {
	Number   uint64
	Bytes    int
	SentTime time.Time
}

// RTTStats is the connection's view of round-trip time at an event.
type RTTStats struct {
	Latest   time.Duration // most recent sample, 0 if this event gave none
	Min      time.Duration // minimum over the connection's lifetime window
	Smoothed time.Duration
	Var      time.Duration
}

// CongestionEvent is what one received ACK (or a loss-detection timer)
// taught the sender. Acked and Lost are sorted by packet number.
type CongestionEvent struct {
	Acked         []Packet
	Lost          []Packet
	PriorInFlight int // bytes in flight before this event
	BytesInFlight int // bytes in flight after it
	RTT           RTTStats
	// AckDelay is the peer-reported delay of the largest newly acked packet.
	AckDelay time.Duration
}

// Controller decides how fast and how much a connection may send.
// Implementations are not safe for concurrent use; the connection core owns
// one per connection.
type Controller interface {
	// Name is the registry name: "newreno", "cubic", "bbr1", "qbbr".
	Name() string
	OnPacketSent(now time.Time, p SentPacket)
	OnCongestionEvent(now time.Time, e *CongestionEvent)
	// OnAppLimited tells the controller the sender had nothing to send while
	// the window allowed more (delivery-rate samples taken now are app-limited).
	OnAppLimited(now time.Time, bytesInFlight int)
	// OnPersistentCongestion is called when loss detection declares
	// persistent congestion (RFC 9002 §7.6).
	OnPersistentCongestion(now time.Time)
	// PacingRate is the rate to pace at, in bytes per second. 0 means the
	// controller does not pace and the sender may burst up to the window.
	PacingRate() float64
	// CongestionWindow is the most bytes allowed in flight.
	CongestionWindow() int
	Stats() Stats
}

// Stats is a controller's view for diagnostics and `qrtn perf`.
type Stats struct {
	State         string
	CWND          int
	PacingRate    float64 // bytes/s
	BandwidthEst  float64 // bytes/s, 0 if the controller keeps none
	MinRTT        time.Duration
	PacingGain    float64
	LossRate      float64 // recent fraction of sent packets declared lost
	NoiseLoss     float64 // the part of LossRate classified as noise
	CongestedLoss float64 // the part classified as congestion
}

// Config are the parameters every controller takes.
type Config struct {
	// MSS is the largest datagram the connection sends, in bytes.
	MSS int
	// InitialWindow in packets; 0 means 32.
	InitialWindow int
	// MinWindow in packets; 0 means 4.
	MinWindow int
	// MaxWindow in bytes; 0 means 64 MiB.
	MaxWindow int
	// Seed drives the controller's only randomness (BBR's choice of the
	// first gain-cycle phase), so a run is repeatable. Connections should
	// pass something that differs between them, such as a connection ID.
	Seed uint64
	// ProbeRTTInterval overrides how long a BBR-family controller goes
	// without a fresh min-RTT sample before it probes for one; 0 keeps the
	// controller's own default (10 s for bbr1, as Linux; 5 s for qbbr).
	ProbeRTTInterval time.Duration
	// StrictProbeRTT makes qbbr probe every ProbeRTTInterval even when
	// recent samples have confirmed its min RTT (otherwise it skips a probe
	// that would learn nothing). Benchmarks use it to measure what one
	// ProbeRTT costs; bbr1, like Linux, always behaves this way.
	StrictProbeRTT bool
	// Logger receives the controller's state changes at debug level; nil
	// discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MSS <= 0 {
		c.MSS = 1200
	}
	if c.InitialWindow <= 0 {
		c.InitialWindow = 32
	}
	if c.MinWindow <= 0 {
		c.MinWindow = 4
	}
	if c.MaxWindow <= 0 {
		c.MaxWindow = 64 << 20
	}
	return c
}

// factories lists the controllers New can build. A new controller adds one
// line here.
func factories() map[string]func(Config) Controller {
	return map[string]func(Config) Controller{
		"newreno": func(c Config) Controller { return NewNewReno(c) },
		"bbr1":    func(c Config) Controller { return NewBBR1(c) },
		"cubic":   func(c Config) Controller { return NewCubic(c) },
		"qbbr":    func(c Config) Controller { return NewQBBR(c) },
	}
}

// Names lists the registered controllers, sorted.
func Names() []string {
	var names []string
	for n := range factories() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the controller registered under name. The name may carry
// parameters after a colon, which override cfg, so that a connection's
// single controller-name setting can tune a controller without the core
// knowing any of it: "qbbr:probertt=2s,strict" or "bbr1:seed=7". Keys:
// probertt (ProbeRTTInterval, a Go duration), strict (StrictProbeRTT),
// seed (Seed), iw (InitialWindow, packets).
func New(name string, cfg Config) (Controller, error) {
	base, params, _ := strings.Cut(name, ":")
	f, ok := factories()[base]
	if !ok {
		return nil, fmt.Errorf("cc: unknown controller %q (known: %v)", base, Names())
	}
	if params != "" {
		var err error
		if cfg, err = applyParams(cfg, params); err != nil {
			return nil, fmt.Errorf("cc: controller %q: %w", name, err)
		}
	}
	return f(cfg.withDefaults()), nil
}

// ErrBadParam is returned for a controller parameter New does not accept.
var ErrBadParam = errors.New("bad controller parameter")

func applyParams(cfg Config, params string) (Config, error) {
	for _, kv := range strings.Split(params, ",") {
		k, v, hasValue := strings.Cut(kv, "=")
		var err error
		switch k {
		case "probertt":
			cfg.ProbeRTTInterval, err = time.ParseDuration(v)
			if err == nil && cfg.ProbeRTTInterval <= 0 {
				err = ErrBadParam
			}
		case "strict":
			cfg.StrictProbeRTT = true
			if hasValue {
				cfg.StrictProbeRTT, err = strconv.ParseBool(v)
			}
		case "seed":
			cfg.Seed, err = strconv.ParseUint(v, 10, 64)
		case "iw":
			cfg.InitialWindow, err = strconv.Atoi(v)
			if err == nil && (cfg.InitialWindow <= 0 || cfg.InitialWindow > 1<<16) {
				err = ErrBadParam
			}
		default:
			err = ErrBadParam
		}
		if err != nil {
			return cfg, fmt.Errorf("%w: %q: %v", ErrBadParam, kv, err)
		}
	}
	return cfg, nil
}

// cycleRand is a controller's seeded randomness (BBR's first gain-cycle
// phase). It is mixed with the time of the connection's first packet so that
// connections built with the same Seed still draw differently, while a
// rerun of the same simulation draws the same numbers.
type cycleRand struct {
	seed, stream uint64
	rng          *rand.Rand
}

func (c *cycleRand) onSend(now time.Time) {
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(c.seed^uint64(now.UnixNano()), c.stream))
	}
}

// IntN returns a number in [0, n).
func (c *cycleRand) IntN(n int) int {
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(c.seed, c.stream))
	}
	return c.rng.IntN(n)
}
