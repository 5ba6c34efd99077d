// Package perf measures QRTP connections over real UDP, as iperf does for
// TCP: a client and a server move bulk data or paced media frames for a
// while and report goodput, send rate, retransmissions, RTT, loss and, for
// media, frame latency and stalls. `qrtn perf` is its command line.
//
// It knows qrtp/udp connections and the qrtp statistics; it must not know
// flags, terminals or the formatting of `qrtn perf` lines.
//
// # Protocol
//
// The client opens a reliable control stream (priority control) as its
// first stream, so its ID is 0 whatever order packets arrive in, and sends
// newline-delimited JSON messages; the server answers on the same stream:
//
//	client → server  start  {mode, reverse, bitrate, fps, deadline, profile, interval}
//	client → server  ping   {t}: the client's clock, for the offset estimate
//	server → client  pong   {t, server_t}
//	server → client  interval {snapshot of its side}          every interval
//	client → server  stop   {frames_sent, clock_offset_ns, stop_t}
//	server → client  result {final snapshot, media receiver figures}
//
// Data flows on a second stream opened by the sender: reliable for bulk,
// a message stream (one frame per message) for media. The start message
// and the first data ride in the Init: the first datagram when the client
// knows the server's key (0-RTT), the one after the server's key reply
// otherwise. A server that cannot set a test up closes the connection with
// code CodeApplication+2 and the reason as the close reason, which the
// client prints.
//
// # What is measured where
//
// Goodput is counted by the receiving application, between its first
// received byte and the stop message, so the client's figures are the
// receiver's even when the server receives. Send rate, retransmissions,
// FEC, loss, RTT and the congestion window are the sender's. Frame latency
// is one-way: each frame carries its send time (the sender's clock); the
// receiver subtracts it from the arrival time, corrected by the clock
// offset the client estimated from its ping/pong exchange with the lowest
// round-trip time (NTP's method: exact on one host, within half the RTT
// asymmetry across hosts).
package perf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// ctrlMsg is one control-stream message. Fields are set by type.
type ctrlMsg struct {
	Type string `json:"type"`

	// start
	Mode     string        `json:"mode,omitempty"`
	Reverse  bool          `json:"reverse,omitempty"`
	Bitrate  float64       `json:"bitrate,omitempty"`
	FPS      float64       `json:"fps,omitempty"`
	Deadline time.Duration `json:"deadline,omitempty"`
	Profile  string        `json:"profile,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`

	// ping, pong
	T       int64 `json:"t,omitempty"`
	ServerT int64 `json:"server_t,omitempty"`

	// stop. StopT is when the sender stopped, on the client's clock: the
	// stop message itself may take retransmissions to arrive, and silence
	// after the last frame was sent is no stall.
	FramesSent    int64 `json:"frames_sent,omitempty"`
	ClockOffsetNS int64 `json:"clock_offset_ns,omitempty"`
	StopT         int64 `json:"stop_t,omitempty"`

	// interval, result
	Snap  *snapshot   `json:"snap,omitempty"`
	Media *mediaStats `json:"media,omitempty"`
	Sched *SchedStats `json:"sched,omitempty"`
	Error string      `json:"error,omitempty"`
}

// snapshot is one side's cumulative counters at a moment.
type snapshot struct {
	// Elapsed is seconds since the side's measurement started.
	Elapsed float64 `json:"elapsed"`
	// RecvBytes is payload delivered to the receiving application.
	RecvBytes int64 `json:"recv_bytes"`
	// Sender figures, from the connection's statistics.
	BytesSent    uint64  `json:"bytes_sent"`
	BytesRetx    uint64  `json:"bytes_retx"`
	BytesFEC     uint64  `json:"bytes_fec"`
	PacketsSent  uint64  `json:"packets_sent"`
	PacketsLost  uint64  `json:"packets_lost"`
	SmoothedRTT  float64 `json:"srtt_ms"`
	MinRTT       float64 `json:"min_rtt_ms"`
	AvgRTT       float64 `json:"avg_rtt_ms"` // mean of the sampled smoothed RTT
	CWND         int     `json:"cwnd"`
	State        string  `json:"state"`
	Controller   string  `json:"cc"`
	FramesRecv   int64   `json:"frames_recv,omitempty"`
	PacingRateBs float64 `json:"pacing_rate"`
}

// conduit reads and writes control messages; writes are serialised.
type conduit struct {
	mu  sync.Mutex
	enc *json.Encoder
	dec *json.Decoder
}

func newConduit(rw io.ReadWriter) *conduit {
	return &conduit{enc: json.NewEncoder(rw), dec: json.NewDecoder(io.LimitReader(rw, maxControlBytes))}
}

// maxControlBytes bounds what a peer may make us decode over one test.
const maxControlBytes = 16 << 20

func (c *conduit) send(m ctrlMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(m); err != nil {
		return fmt.Errorf("perf: control stream: %w", err)
	}
	return nil
}

// pump forwards received messages to out until the stream fails (the
// error goes to errc, which must have room) or ctx is done.
func (c *conduit) pump(ctx context.Context, out chan<- ctrlMsg, errc chan<- error) {
	for {
		m, err := c.recv()
		if err != nil {
			errc <- err
			return
		}
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

func (c *conduit) recv() (ctrlMsg, error) {
	var m ctrlMsg
	if err := c.dec.Decode(&m); err != nil {
		return m, fmt.Errorf("perf: control stream: %w", err)
	}
	return m, nil
}
