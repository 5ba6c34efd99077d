package perf

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/handshake"
)

// Modes of a test.
const (
	ModeBulk  = "bulk"  // a reliable stream, as fast as it goes
	ModeMedia = "media" // paced frames, one deadline message each
)

// ClientConfig describes one test run by the client.
type ClientConfig struct {
	// Addr is the server's UDP address (or a relay's in front of it).
	Addr string
	// ServerKey, when known, makes the handshake 0-RTT; nil learns the
	// key from the server first (one more round trip).
	ServerKey *handshake.PublicKey
	// Key is the client's key pair; the zero value generates one.
	Key handshake.KeyPair

	Duration time.Duration
	Mode     string
	// Reverse makes the server send and the client receive.
	Reverse bool
	// Bitrate (bits/s) and FPS shape media frames: Bitrate/8/FPS bytes each.
	Bitrate, FPS float64
	// Deadline overrides the profile's message deadline (media).
	Deadline time.Duration
	// Profile names the qrtp profile; "" means bulk for bulk tests and
	// meeting for media tests.
	Profile string
	// CC names the client's congestion controller; "" keeps the
	// profile's. With Reverse the server's controller governs the data.
	CC string
	// MaxDatagramSize is the largest UDP payload; 0 keeps qrtp's default.
	MaxDatagramSize int
	// Interval is how often the server reports; 0 means one second.
	Interval time.Duration
	// HandshakeTimeout bounds connecting; 0 means 10 s.
	HandshakeTimeout time.Duration
	Logger           *slog.Logger

	// OnConnected is called once the handshake completed.
	OnConnected func(Connected)
	// OnInterval is called for every interval report.
	OnInterval func(Interval)
}

// Connected describes the connection a test runs on.
type Connected struct {
	// Handshake is "0rtt" or "1rtt-learned-key".
	Handshake string
	// Setup is how long the handshake took from dialling.
	Setup     time.Duration
	ServerKey handshake.PublicKey
	Profile   string
	CC        string
	Deadline  time.Duration // media
}

// Interval is one interval line: goodput from the receiver, the rest
// from the sender.
type Interval struct {
	From, To    float64 // seconds since the data started
	GoodputMbit float64
	SentMbit    float64
	SmoothedRTT float64 // ms
	Loss        float64 // packets lost / sent, this interval
	RetxRatio   float64 // bytes retransmitted / sent, this interval
	CWND        int
	State       string
	Frames      int64 // media frames received this interval
}

// Result is a test's summary; its JSON is `qrtn perf --json`'s last line.
type Result struct {
	Mode        string  `json:"mode"`
	Direction   string  `json:"direction"`
	Handshake   string  `json:"handshake"`
	Profile     string  `json:"profile"`
	CC          string  `json:"cc"`
	DurationS   float64 `json:"duration_s"`
	GoodputMbit float64 `json:"goodput_mbit"`
	// AckedMbit (bulk, client->server) is the unique payload the server
	// acknowledged per second of the client's run, including what waits
	// behind a hole for a retransmission: the utilization figure of the
	// netsim benchmarks. GoodputMbit counts only what the application
	// could read in order, so at heavy loss it trails AckedMbit by the
	// retransmission tail (seconds at 50% loss).
	AckedMbit       float64 `json:"acked_mbit,omitempty"`
	SentMbit        float64 `json:"sent_mbit"`
	RetransmitRatio float64 `json:"retransmit_ratio"`
	FECRatio        float64 `json:"fec_ratio"`
	LossRatio       float64 `json:"loss_ratio"`
	RTTMinMS        float64 `json:"rtt_min_ms"`
	RTTAvgMS        float64 `json:"rtt_avg_ms"`
	BytesReceived   int64   `json:"bytes_received"`
	// MeasuredBy says which end counted the goodput ("server" or "client").
	MeasuredBy string `json:"goodput_measured_by"`
	// ClockOffsetMS is the server's clock minus the client's, estimated.
	ClockOffsetMS float64 `json:"clock_offset_ms"`
	// HandshakeMS is the time from dialling until the handshake completed.
	// Bulk data flows from the first datagram on; media frames start when
	// the connection is up, so their figures do not include it.
	HandshakeMS float64 `json:"handshake_ms"`
	// ClientSched and ServerSched say how much each end's machine held
	// it back over the test (CPU starvation on a busy machine).
	ClientSched *SchedStats `json:"client_sched,omitempty"`
	ServerSched *SchedStats `json:"server_sched,omitempty"`
	*MediaResult
}

// MediaResult holds the media figures; JSON flattens them into Result.
type MediaResult struct {
	FramesSent      int64   `json:"frames_sent"`
	FramesDelivered int64   `json:"frames_delivered"`
	FramesLate400   int64   `json:"frames_late_400ms"`
	FramesExpired   int64   `json:"frames_expired"`
	LatencyP50MS    float64 `json:"latency_p50_ms"`
	LatencyP95MS    float64 `json:"latency_p95_ms"`
	LatencyP99MS    float64 `json:"latency_p99_ms"`
	LatencyMaxMS    float64 `json:"latency_max_ms"`
	Stalls600       int64   `json:"stalls_600ms"`
	DeadlineMS      float64 `json:"deadline_ms"`
	FrameBytes      int     `json:"frame_bytes"`
	// FramesLost never arrived; LateBySecond counts the frames not
	// complete within 400 ms by the second of the run they were sent in.
	FramesLost   int64   `json:"frames_lost"`
	LateBySecond []int64 `json:"late_by_second,omitempty"`
}

// CheckController returns a clear error for an unknown controller name.
func CheckController(name string) error {
	if name == "" {
		return nil
	}
	for _, n := range cc.Names() {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("unknown congestion controller %q (known: %s)", name, strings.Join(cc.Names(), ", "))
}

// controllerName is the controller a connection with this profile and
// override runs.
func controllerName(profile, override string) string {
	if override != "" {
		return override
	}
	if p, err := qrtp.LookupProfile(profile); err == nil && p.Conn.CongestionControl != "" {
		return p.Conn.CongestionControl
	}
	return ""
}

// withDefaults validates c and fills its defaults.
func (c ClientConfig) withDefaults() (ClientConfig, error) {
	if c.Addr == "" {
		return c, fmt.Errorf("perf: no server address")
	}
	if c.Duration <= 0 {
		return c, fmt.Errorf("perf: test duration %v must be positive", c.Duration)
	}
	switch c.Mode {
	case "":
		c.Mode = ModeBulk
	case ModeBulk, ModeMedia:
	default:
		return c, fmt.Errorf("perf: unknown mode %q (bulk or media)", c.Mode)
	}
	if c.Profile == "" {
		c.Profile = "bulk"
		if c.Mode == ModeMedia {
			c.Profile = "meeting"
		}
	}
	prof, err := qrtp.LookupProfile(c.Profile)
	if err != nil {
		return c, err
	}
	if err := CheckController(c.CC); err != nil {
		return c, err
	}
	if c.Mode == ModeMedia {
		if !(c.FPS > 0 && c.FPS <= 1000) || frameBytes(c.Bitrate, c.FPS) == 0 {
			return c, fmt.Errorf("perf: media needs a frame rate in (0, 1000] and frames (bitrate/8/fps) of %d bytes to %d KiB; got %v bit/s at %v fps",
				frameHeader, maxFrameBytes>>10, c.Bitrate, c.FPS)
		}
		if c.Deadline <= 0 {
			c.Deadline = prof.Message.Deadline
		}
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.Key.Public.IsZero() {
		if c.Key, err = handshake.GenerateKeyPair(nil); err != nil {
			return c, err
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
