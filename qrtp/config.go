package qrtp

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// Config configures an Endpoint: its identity, who may connect, the limits
// that protect it, and the defaults every connection starts from.
type Config struct {
	// Key is the node's long-term key pair. Required.
	Key handshake.KeyPair `yaml:"-"`
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger `yaml:"-"`
	// Rand supplies connection IDs, path challenges and handshake
	// randomness; nil means crypto/rand. Tests pass a seeded source.
	Rand io.Reader `yaml:"-"`
	// Authorize decides whether an initiator's static key may connect;
	// nil accepts any key.
	Authorize func(handshake.PublicKey) bool `yaml:"-"`

	// Accept makes the endpoint answer incoming handshakes (responder role).
	Accept bool `yaml:"accept"`
	// MaxConnections bounds open connections (both roles). Default 1024.
	MaxConnections int `yaml:"max_connections"`
	// MaxHandshakesPerSecond bounds the Noise handshakes the endpoint
	// performs per second. Above it, Inits without a valid cookie are
	// answered with a stateless Retry; at twice the rate even Inits with
	// a cookie are dropped. Default 200.
	MaxHandshakesPerSecond float64 `yaml:"max_handshakes_per_second"`
	// MaxPendingHandshakes bounds responder connections whose handshake is
	// not yet confirmed. Above it, Inits without a cookie get a Retry; at
	// twice it every Init is dropped. Default 256.
	MaxPendingHandshakes int `yaml:"max_pending_handshakes"`
	// RequireAddressValidation answers every Init without a valid cookie
	// with a Retry, costing one round trip but never doing a Noise
	// operation for an address that has not proved it receives.
	RequireAddressValidation bool `yaml:"require_address_validation"`
	// HandshakeTimeout abandons a handshake that has not completed. Default 10 s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// ReplayWindow is how far an Init's timestamp may be from our clock.
	// Default 2 min (handshake.DefaultReplayWindow).
	ReplayWindow time.Duration `yaml:"replay_window"`
	// MaxDatagramSize is the largest UDP payload sent. Default 1400;
	// at least 1200. Loopback tests may raise it.
	MaxDatagramSize int `yaml:"max_datagram_size"`

	// Conn holds connection defaults; set fields override the profile.
	Conn ConnConfig `yaml:"conn"`
}

// ConnConfig configures one connection. The zero value of any field means
// "inherit": from the Endpoint's Config.Conn, then from the profile, then
// from the built-in defaults. Connect takes one to override per connection.
type ConnConfig struct {
	// Profile names the defaults: "meeting", "live" or "bulk". Default "live".
	Profile string `yaml:"profile"`
	// CongestionControl names a controller registered in package cc.
	CongestionControl string `yaml:"cc"`
	// InitialWindow is the congestion window of the first round trip, in
	// packets (at most 1024); 0 takes the controller's (32). A parameter
	// in CongestionControl ("qbbr:iw=N") overrides it.
	InitialWindow int `yaml:"initial_window"`
	// IdleTimeout closes a connection that received nothing for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// KeepAlive sends a PING after this long without sending anything
	// ack-eliciting, so NAT bindings and the peer's idle timer stay fresh.
	KeepAlive time.Duration `yaml:"keep_alive"`
	// MaxAckDelay is the longest we hold an ACK (capped at 10 ms, the
	// value both sides assume for the probe timeout).
	MaxAckDelay time.Duration `yaml:"max_ack_delay"`
	// MaxIncomingStreams bounds the streams the peer may have open at once.
	MaxIncomingStreams int `yaml:"max_incoming_streams"`
	// StreamReceiveWindow is the initial flow-control window of a reliable
	// stream; it grows (auto-tuning) up to MaxStreamReceiveWindow when the
	// application reads faster than the window turns over in two RTTs.
	StreamReceiveWindow    int `yaml:"stream_receive_window"`
	MaxStreamReceiveWindow int `yaml:"max_stream_receive_window"`
	// ConnReceiveWindow and MaxConnReceiveWindow do the same for the sum
	// over all reliable streams.
	ConnReceiveWindow    int `yaml:"conn_receive_window"`
	MaxConnReceiveWindow int `yaml:"max_conn_receive_window"`
	// MessageBuffer bounds the bytes one message stream holds on receipt
	// (partly reassembled plus complete but unread); fragments that do not
	// fit are dropped and counted. ConnMessageBuffer bounds the sum.
	MessageBuffer     int `yaml:"message_buffer"`
	ConnMessageBuffer int `yaml:"conn_message_buffer"`
	// MaxMessageSize is the largest message accepted for sending or receipt.
	MaxMessageSize int `yaml:"max_message_size"`
	// DatagramQueue bounds unread datagrams per datagram stream.
	DatagramQueue int `yaml:"datagram_queue"`
	// PacerBurst is the pacer's burst allowance in time at the pacing rate
	// (at least 4 packets).
	PacerBurst time.Duration `yaml:"pacer_burst"`
	// MaxEvents bounds the connection's unread event queue; events beyond
	// it are dropped and counted in Stats.EventsDropped.
	MaxEvents int `yaml:"max_events"`
	// Stream overrides the profile's stream defaults for every mode.
	Stream StreamOptions `yaml:"stream"`
}

// Mode is a stream's delivery mode. It is encoded in the stream ID, so both
// ends know it from the first frame.
type Mode uint8

const (
	// ModeReliable delivers an ordered byte stream, retransmitting until acknowledged.
	ModeReliable Mode = 0
	// ModeMessage delivers whole messages, each with a deadline: a message
	// is retransmitted only while it can still arrive in time, then
	// dropped and reported expired at both ends.
	ModeMessage Mode = 1
	// ModeDatagram delivers unreliable datagrams, never retransmitted.
	ModeDatagram Mode = 2
)

func (m Mode) String() string {
	switch m {
	case ModeReliable:
		return "reliable"
	case ModeMessage:
		return "message"
	case ModeDatagram:
		return "datagram"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Priority is a stream's scheduling level: 1 is served first, 8 last;
// levels are strict, and streams of one level share fairly (deficit round
// robin). 0 means "inherit".
type Priority uint8

// Named levels; anything in 1..8 is valid.
const (
	PriorityControl Priority = 1
	PriorityAudio   Priority = 2
	PriorityVideo   Priority = 4
	PriorityBulk    Priority = 6
	PriorityLowest  Priority = 8
)

// RetransmitPolicy says what happens to lost message data.
type RetransmitPolicy uint8

const (
	// RetransmitInherit takes the profile's policy.
	RetransmitInherit RetransmitPolicy = iota
	// RetransmitInTime retransmits while now + srtt/2 < deadline.
	RetransmitInTime
	// RetransmitNever sends message data once; a loss expires the message.
	RetransmitNever
)

// StreamOptions configures one stream. Zero fields inherit, as in ConnConfig.
type StreamOptions struct {
	Mode     Mode     `yaml:"mode"`
	Priority Priority `yaml:"priority"`
	// Deadline is a message's default time to live from SendMessage (message
	// mode), or how long a datagram may wait to be sent (datagram mode).
	Deadline   time.Duration    `yaml:"deadline"`
	Retransmit RetransmitPolicy `yaml:"retransmit"`
	// FECBudget is the most repair overhead FEC may add to a message
	// stream's packets (repair symbols per source packet: 3 allows three
	// repair packets per packet of data); negative disables FEC for the
	// stream. How much is spent within it depends on the measured loss,
	// the RTT and the messages' deadlines: nothing on a clean link.
	FECBudget float64 `yaml:"fec_budget"`
	// FECLatency, when positive and shorter than a message's lifetime, is
	// how soon the message should be complete: FEC is sized as if it
	// expired then (so it covers what the retransmission rounds fitting in
	// FECLatency could not), while lost data is still retransmitted until
	// the real deadline. A stream that wants both low latency and nothing
	// lost (live media over a long link) sets a long Deadline and a short
	// FECLatency. Zero sizes FEC by the deadline alone.
	FECLatency time.Duration `yaml:"fec_latency"`
	// SendBuffer bounds the bytes queued for sending (unacknowledged bytes
	// of a reliable stream; unresolved messages). Writes beyond it return
	// ErrBufferFull.
	SendBuffer int `yaml:"send_buffer"`
	// Redundant (reliable streams) sends the last bytes of a write twice,
	// in two packets, when they are few (at most one packet) and nothing
	// else of the stream is waiting. A lost tail is otherwise found only by
	// the probe timeout, more than a round trip later: a sparse stream of
	// small urgent messages (a key frame request on a lossy trunk) arrives
	// with one loss as fast as without. Duplicates cost nothing more at the
	// receiver than any retransmission.
	Redundant bool `yaml:"redundant"`
}

// Protocol constants both ends assume without negotiating them.
const (
	// initialStreamWindow and initialConnWindow are the flow-control
	// credits every sender may use before the receiver says otherwise;
	// they bound what 0-RTT data can carry.
	initialStreamWindow = 64 << 10
	initialConnWindow   = 1 << 20
	// initialMaxStreams is the peer's stream allowance before MAX_STREAMS.
	initialMaxStreams = 100
	// peerMaxAckDelay is the ACK delay each side assumes of the other when
	// arming its probe timeout.
	peerMaxAckDelay = 10 * time.Millisecond
	// minInitSize pads an Init so the responder's anti-amplification budget
	// covers its InitResponse with 0.5-RTT data.
	minInitSize = 1200
)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Key.Public.IsZero() {
		return out, fmt.Errorf("qrtp: Config.Key is required")
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&out.MaxConnections, 1024)
	setDefault(&out.MaxHandshakesPerSecond, 200)
	setDefault(&out.MaxPendingHandshakes, 256)
	setDefault(&out.HandshakeTimeout, 10*time.Second)
	setDefault(&out.ReplayWindow, handshake.DefaultReplayWindow)
	setDefault(&out.MaxDatagramSize, 1400)
	if out.MaxDatagramSize < 1200 || out.MaxDatagramSize > 65000 {
		return out, fmt.Errorf("qrtp: MaxDatagramSize %d outside [1200, 65000]", out.MaxDatagramSize)
	}
	if out.Conn.Profile != "" {
		if _, err := LookupProfile(out.Conn.Profile); err != nil {
			return out, err
		}
	}
	return out, nil
}

// maxShortOverhead is what a short packet adds around its frames.
const maxShortOverhead = wire.ShortHeaderLen + handshake.SealOverhead

// maxInitialWindow bounds ConnConfig.InitialWindow, in packets.
const maxInitialWindow = 1024

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// overrideFrom replaces c's fields with o's non-zero ones.
func (c *ConnConfig) overrideFrom(o ConnConfig) {
	over(&c.Profile, o.Profile)
	over(&c.CongestionControl, o.CongestionControl)
	over(&c.InitialWindow, o.InitialWindow)
	over(&c.IdleTimeout, o.IdleTimeout)
	over(&c.KeepAlive, o.KeepAlive)
	over(&c.MaxAckDelay, o.MaxAckDelay)
	over(&c.MaxIncomingStreams, o.MaxIncomingStreams)
	over(&c.StreamReceiveWindow, o.StreamReceiveWindow)
	over(&c.MaxStreamReceiveWindow, o.MaxStreamReceiveWindow)
	over(&c.ConnReceiveWindow, o.ConnReceiveWindow)
	over(&c.MaxConnReceiveWindow, o.MaxConnReceiveWindow)
	over(&c.MessageBuffer, o.MessageBuffer)
	over(&c.ConnMessageBuffer, o.ConnMessageBuffer)
	over(&c.MaxMessageSize, o.MaxMessageSize)
	over(&c.DatagramQueue, o.DatagramQueue)
	over(&c.PacerBurst, o.PacerBurst)
	over(&c.MaxEvents, o.MaxEvents)
	c.Stream.overrideFrom(o.Stream)
}

// overrideFrom replaces s's fields with o's non-zero ones (Mode excepted).
func (s *StreamOptions) overrideFrom(o StreamOptions) {
	over(&s.Priority, o.Priority)
	over(&s.Deadline, o.Deadline)
	over(&s.Retransmit, o.Retransmit)
	over(&s.FECBudget, o.FECBudget)
	over(&s.FECLatency, o.FECLatency)
	over(&s.SendBuffer, o.SendBuffer)
	over(&s.Redundant, o.Redundant)
}

func over[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// resolveConn layers the profile, the endpoint's defaults and the
// per-connection overrides, then checks the result.
func resolveConn(endpoint, perConn ConnConfig) (ConnConfig, Profile, error) {
	name := "live"
	over(&name, endpoint.Profile)
	over(&name, perConn.Profile)
	p, err := LookupProfile(name)
	if err != nil {
		return ConnConfig{}, Profile{}, err
	}
	c := p.Conn
	c.overrideFrom(endpoint)
	c.overrideFrom(perConn)
	c.Profile = name
	c.MaxAckDelay = min(c.MaxAckDelay, peerMaxAckDelay)
	c.StreamReceiveWindow = max(c.StreamReceiveWindow, initialStreamWindow)
	c.MaxStreamReceiveWindow = max(c.MaxStreamReceiveWindow, c.StreamReceiveWindow)
	c.ConnReceiveWindow = max(c.ConnReceiveWindow, initialConnWindow)
	c.MaxConnReceiveWindow = max(c.MaxConnReceiveWindow, c.ConnReceiveWindow)
	c.MaxIncomingStreams = max(c.MaxIncomingStreams, initialMaxStreams)
	if c.IdleTimeout > 0 && c.KeepAlive >= c.IdleTimeout {
		return c, p, fmt.Errorf("qrtp: KeepAlive %v must be below IdleTimeout %v", c.KeepAlive, c.IdleTimeout)
	}
	if c.InitialWindow < 0 || c.InitialWindow > maxInitialWindow {
		return c, p, fmt.Errorf("qrtp: InitialWindow %d packets: want 0 (the controller's) to %d", c.InitialWindow, maxInitialWindow)
	}
	return c, p, nil
}

// resolveStream gives a stream's effective options: explicit options, then
// the connection's overrides, then the profile's defaults for the mode.
func resolveStream(p *Profile, conn *ConnConfig, opts StreamOptions) (StreamOptions, error) {
	if opts.Mode > ModeDatagram {
		return opts, fmt.Errorf("qrtp: unknown stream mode %d", opts.Mode)
	}
	s := p.streamDefaults(opts.Mode)
	s.overrideFrom(conn.Stream)
	s.overrideFrom(opts)
	s.Mode = opts.Mode
	if s.Priority < 1 || s.Priority > PriorityLowest {
		return s, fmt.Errorf("qrtp: priority %d outside 1..8", s.Priority)
	}
	return s, nil
}
