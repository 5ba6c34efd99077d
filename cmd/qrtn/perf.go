package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/perf"
)

const perfHelp = `Usage:
  qrtn perf --server [--listen ADDR] [--key FILE] [--profile P] [--cc NAME] [--once]
  qrtn perf --client ADDR [--server-key KEY] [--time D] [--mode bulk|media]
            [--bitrate 1500k --fps 25] [--deadline D] [--profile P] [--cc NAME]
            [--reverse] [--interval D] [--json]

Measures one QRTP connection over real UDP, like iperf: the client sends to
the server (or, with --reverse, the server to the client) for --time, and
prints a line per interval and a summary.

  bulk   one reliable stream, as fast as congestion control allows
  media  frames of bitrate/8/fps bytes at fps, each one message with a
         deadline (the profile's, or --deadline); reports frame latency,
         frames late beyond 400 ms, expired frames and 600 ms stalls.
         Frames start once the connection is up, as on a trunk; the
         handshake's duration is reported apart (handshake_ms)

The server prints its public key and a client command line to copy. With
--server-key the handshake is 0-RTT (the test request rides in the first
datagram); without it the client asks the server for its key first (1-RTT)
and says so. A relay or NAT between the two is fine: connections are found
by connection ID, not by address (try qrtn relay in between).

Goodput is counted by the receiving application and reported back, so the
client's figures are the receiver's in either direction. Send rate,
retransmit and FEC ratios, loss, RTT, cwnd and controller state are the
sender's. Frame latency is one-way: each frame carries its send time, and
the receiver corrects for the clocks' offset, which the client estimates
from ping/pong on the control stream (exact on one host; across hosts
within half the path's asymmetry).

Interval columns: goodput and sent rate in Mbit/s, the sender's smoothed
RTT, packets lost and bytes retransmitted as a share of those sent in the
interval, the congestion window and the controller's state.

Goodput counts what the receiving application read in order; in bulk tests
from the client, acked_mbit also counts what was received behind a hole
still waiting on a retransmission (the netsim benchmarks' utilization).

With --json the last line of output is one JSON object: goodput_mbit,
acked_mbit, sent_mbit, retransmit_ratio, fec_ratio, loss_ratio, rtt_min_ms,
rtt_avg_ms, duration_s, handshake, handshake_ms, direction, and in media
mode frames_sent, frames_delivered, frames_late_400ms, frames_expired,
latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_max_ms,
stalls_600ms, frames_lost (never arrived; the rest of the late ones arrived
late) and late_by_second (frames not complete within 400 ms by the second
they were sent in). client_sched and server_sched say how much the machine
held each end back over the test: cpu_ms, run_delay_ms (all threads'
time on a CPU and waiting for one, Linux) and wait_per_run_ms (the
mean wait of a wake-up), go_wait_p999_ms and
go_waits_over_50ms (goroutines waiting to run). A busy machine shows
there, and qrtn relay prints its own read lag and write lateness.

Examples:
  qrtn perf --server --listen 127.0.0.1:5201
  qrtn perf --client 127.0.0.1:5201 --server-key KEY --time 10s
  qrtn perf --client 127.0.0.1:5201 --server-key KEY --mode media --bitrate 1500k --fps 25 --json

Flags:
`

// perfFlags is the parsed command line of qrtn perf.
type perfFlags struct {
	server, reverse, json, once bool
	client, listen, keyFile     string
	serverKey, mode, bitrate    string
	profile, cc                 string
	duration, interval          time.Duration
	deadline, connectTimeout    time.Duration
	fps                         float64
	datagramSize                int
	logLevel                    string
}

func parsePerfFlags(args []string, stdout, stderr io.Writer) (perfFlags, error) {
	var f perfFlags
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), perfHelp)
		fs.PrintDefaults()
	}
	fs.BoolVar(&f.server, "server", false, "run the server")
	fs.StringVar(&f.listen, "listen", "0.0.0.0:5201", "server: UDP address to listen on")
	fs.BoolVar(&f.once, "once", false, "server: exit after one test")
	fs.StringVar(&f.client, "client", "", "run a client against the server (or a relay) at this UDP address")
	fs.StringVar(&f.serverKey, "server-key", "", "client: the server's public key, for a 0-RTT handshake")
	fs.StringVar(&f.keyFile, "key", "", "this end's private key file (created if missing); default: a fresh key per run")
	fs.DurationVar(&f.duration, "time", 10*time.Second, "client: how long to send")
	fs.StringVar(&f.mode, "mode", perf.ModeBulk, "client: bulk | media")
	fs.StringVar(&f.bitrate, "bitrate", "1500k", "client, media: bit rate, e.g. 1500k, 4m")
	fs.Float64Var(&f.fps, "fps", 25, "client, media: frames per second")
	fs.DurationVar(&f.deadline, "deadline", 0, "client, media: each frame's deadline; 0 = the profile's")
	fs.StringVar(&f.profile, "profile", "", "qrtp profile: meeting | live | bulk; default bulk, and meeting for media tests")
	fs.StringVar(&f.cc, "cc", "", "congestion controller of this end's sending direction: "+strings.Join(cc.Names(), " | ")+"; default: the profile's")
	fs.BoolVar(&f.reverse, "reverse", false, "client: the server sends, the client receives")
	fs.DurationVar(&f.interval, "interval", time.Second, "client: report interval")
	fs.BoolVar(&f.json, "json", false, "client: print the summary as one JSON object, last")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 10*time.Second, "client: give up connecting after this long (at 50% loss each way one handshake in a hundred takes 5 s)")
	fs.IntVar(&f.datagramSize, "datagram-size", 0, "largest UDP payload, 1200..65000; 0 = qrtp's default (1400)")
	fs.StringVar(&f.logLevel, "log", "warn", "log QRTP's messages at this level and above to stderr: debug (congestion-control state changes) | info | warn | error")
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return f, flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q (see qrtn perf --help)", fs.Args())
	}
	if f.server == (f.client != "") {
		return f, errors.New("say --server, or --client ADDR (see qrtn perf --help)")
	}
	if err := perf.CheckController(f.cc); err != nil {
		return f, fmt.Errorf("--cc: %w", err)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return f, fmt.Errorf("--log %q: want debug, info, warn or error", f.logLevel)
	}
	return f, nil
}

// perfLogger writes QRTP's log lines at the --log level to stderr.
func perfLogger(f perfFlags, stderr io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(f.logLevel)) // checked by parsePerfFlags
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
}

func runPerf(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parsePerfFlags(args, stdout, stderr)
	if err != nil {
		return err
	}
	key, err := perfKey(f.keyFile)
	if err != nil {
		return err
	}
	log := perfLogger(f, stderr)
	if f.server {
		return perfServer(ctx, f, key, log, stdout)
	}
	return perfClient(ctx, f, key, log, stdout)
}

func perfKey(file string) (handshake.KeyPair, error) {
	if file == "" {
		return handshake.GenerateKeyPair(nil)
	}
	kp, err := handshake.LoadOrCreateKeyPair(file, nil)
	if err != nil {
		return kp, fmt.Errorf("--key: %w", err)
	}
	return kp, nil
}

// syncWriter serialises lines from the server's concurrent tests.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, a...)
}

func perfServer(ctx context.Context, f perfFlags, key handshake.KeyPair, log *slog.Logger, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &syncWriter{w: stdout}
	var once sync.Once
	srv, err := perf.Listen(ctx, perf.ServerConfig{
		Addr: f.listen, Key: key, Profile: f.profile, CC: f.cc, MaxDatagramSize: f.datagramSize, Logger: log,
		OnTest: func(ti perf.TestInfo) {
			out.printf("test from %s: %s, %s, %s handshake, profile %s\n", ti.Remote, ti.Mode, direction(ti.Reverse), ti.Handshake, ti.Profile)
		},
		OnDone: func(ti perf.TestInfo, r perf.TestReport) {
			switch {
			case r.Err != nil:
				out.printf("test from %s failed: %v\n", ti.Remote, r.Err)
			case ti.Reverse:
				out.printf("test from %s done: %.2f s, sent %.2f Mbit/s\n", ti.Remote, r.Seconds, r.SentMbit)
			default:
				out.printf("test from %s done: %.2f s, goodput %.2f Mbit/s (received here)\n", ti.Remote, r.Seconds, r.GoodputMbit)
			}
			if f.once {
				once.Do(cancel)
			}
		},
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	addr := srv.Addr()
	target, where := addr.String(), ""
	if addr.Addr().IsUnspecified() {
		target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port()).String()
		where = " (from another host, use this host's address)"
	}
	prof := f.profile
	if prof == "" {
		prof = "bulk"
	}
	out.printf("qrtn perf server listening on %s (profile %s)\npublic key: %s\nrun a client with a 0-RTT handshake%s:\n  qrtn perf --client %s --server-key %s --time 10s\n",
		addr, prof, srv.PublicKey(), where, target, srv.PublicKey())
	return srv.Serve(ctx)
}

func direction(reverse bool) string {
	if reverse {
		return "server->client"
	}
	return "client->server"
}

func perfClient(ctx context.Context, f perfFlags, key handshake.KeyPair, log *slog.Logger, stdout io.Writer) error {
	cfg := perf.ClientConfig{
		Addr: f.client, Key: key, Duration: f.duration, Mode: f.mode, Reverse: f.reverse,
		FPS: f.fps, Deadline: f.deadline, Profile: f.profile, CC: f.cc,
		MaxDatagramSize: f.datagramSize, Interval: f.interval, HandshakeTimeout: f.connectTimeout,
		Logger: log,
	}
	if f.serverKey != "" {
		k, err := handshake.ParsePublicKey(f.serverKey)
		if err != nil {
			return fmt.Errorf("--server-key: %w (copy the key the server printed)", err)
		}
		cfg.ServerKey = &k
	}
	var err error
	if f.mode == perf.ModeMedia {
		if cfg.Bitrate, err = parseRate(f.bitrate); err != nil {
			return fmt.Errorf("--bitrate: %w", err)
		}
	}
	cfg.OnConnected = func(c perf.Connected) { printConnected(stdout, f, c) }
	cfg.OnInterval = func(iv perf.Interval) { printInterval(stdout, f.mode, iv) }
	res, err := perf.Run(ctx, cfg)
	if err != nil {
		return explainPerfError(f, err)
	}
	printSummary(stdout, res)
	if f.json {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	return nil
}

// explainPerfError says what to check when the client cannot connect.
func explainPerfError(f perfFlags, err error) error {
	if !errors.Is(err, qrtp.ErrHandshakeTimeout) {
		return err
	}
	if errors.Is(err, qrtp.ErrInitUnanswered) {
		return fmt.Errorf("the QRTP endpoint at %s answered but did not accept this client: it is not a `qrtn perf --server` "+
			"(a qrtn node's trunk port admits only the nodes it is configured with), or it is overloaded; "+
			"point --client at the address a `qrtn perf --server` printed (%w)", f.client, err)
	}
	if f.serverKey != "" {
		return fmt.Errorf("no answer from %s: is `qrtn perf --server` running there, and is --server-key the key it printed? (%w)", f.client, err)
	}
	return fmt.Errorf("no server at %s: is `qrtn perf --server` running there? (%w)", f.client, err)
}
