package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/qrtn/qrtn/loadtest"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
)

func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := loadtest.DefaultConfig()
	fs.StringVar(&cfg.URL, "url", "", "the node's HTTP base URL, e.g. http://127.0.0.1:7880 (in dev mode, for /api/token); empty runs a node in this process")
	fs.StringVar(&cfg.Room, "room", cfg.Room, "room to join")
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "room mode: meeting or live")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "synthetic publishers (each sends simulcast VP8 s+l and Opus)")
	fs.IntVar(&cfg.Subscribers, "subscribers", cfg.Subscribers, "synthetic subscribers (viewers)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measurement window, after every client joined and the warm-up")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "wait after the last join before measuring")
	fs.StringVar(&cfg.Prefer, "prefer", "", "layer preference subscribers send for every video: large, small, or empty for none")
	fs.IntVar(&cfg.SubscribeTo, "subscribe-to", 0, "each subscriber joins with auto_subscribe false and subscribes to this many publishers only, in turn (0: everyone)")
	fs.IntVar(&cfg.SubscribePool, "subscribe-pool", 0, "internal: the publishers --subscribe-to takes from (default --publishers)")
	fs.Float64Var(&cfg.JoinRate, "join-rate", cfg.JoinRate, "subscriber joins per second")
	fs.DurationVar(&cfg.Interval, "interval", cfg.Interval, "progress line interval (0: none)")
	fs.BoolVar(&cfg.NoTWCC, "no-twcc", false, "subscribers send no transport-cc feedback, so the node's bandwidth estimate stays at its initial value (isolates forwarding cost from congestion control)")
	fs.DurationVar(&cfg.QualityEvery, "quality-every", 0, "how often clients send quality reports, as browsers do (0: every 5 s; negative: none)")
	fs.IntVar(&cfg.NodePID, "node-pid", 0, "pid of the node process, to report its CPU use and CPU per forwarded packet")
	fs.IntVar(&cfg.Media.FPS, "fps", cfg.Media.FPS, "video frames per second")
	fs.IntVar(&cfg.Media.LargeBitrate, "large-bps", cfg.Media.LargeBitrate, "bit/s of the large simulcast layer (rid l)")
	fs.IntVar(&cfg.Media.SmallBitrate, "small-bps", cfg.Media.SmallBitrate, "bit/s of the small simulcast layer (rid s)")
	fs.IntVar(&cfg.Media.AudioBitrate, "audio-bps", cfg.Media.AudioBitrate, "bit/s of Opus audio (0: no audio)")
	fs.DurationVar(&cfg.Media.KeyInterval, "keyframe-interval", cfg.Media.KeyInterval, "periodic keyframe interval (PLI/FIR also get one)")
	subURLs := fs.String("sub-url", "", "nodes the subscribers join instead of --url, comma separated, in turn (a room cascaded across nodes)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object (progress lines go to stderr)")
	perClient := fs.Int("list", 20, "list every client in the text report when there are at most this many")
	verbose := fs.Bool("v", false, "log client warnings to stderr")
	trace := fs.Bool("vv", false, "also log every layer change the node announces")
	cpuProfile := fs.String("cpuprofile", "", "write the loadtest's own CPU profile to this file")
	fs.IntVar(&cfg.Procs, "procs", 1, "spread the subscribers over this many child processes (one process receives ≈70,000 packets/s on a core; give them the cores with taskset)")
	childMode := fs.Bool("child", false, "internal: run as one of --procs's subscriber processes")
	fs.StringVar(&cfg.IdentityPrefix, "identity-prefix", "", "internal: prefix of this process's subscriber identities")
	survive := fs.String("survive", "", "survival benchmark instead of a load run: ws, ice, kill, drain or still (see below)")
	trials := fs.Int("trials", 20, "--survive: the number of disruptions")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: qrtn loadtest --url http://NODE [flags]

Synthetic pion clients join a room on an access node through the signaling
protocol: publishers send generated simulcast VP8 (≈1.5 Mbit/s "l" + ≈150
kbit/s "s", keyframes on PLI and periodically) and Opus; subscribers receive
and measure bitrate, loss, frame latency (each frame carries its send time)
and stalls (600 ms without a new video frame). Progress lines go out while it
runs, a summary (or --json) at the end. Tokens come from the node's dev-mode
GET /api/token. For CPU figures run the node pinned to a core and pass its pid:

  taskset -c 0 qrtn serve --config node.yaml &
  taskset -c 1 qrtn loadtest --url http://127.0.0.1:PORT --node-pid $!

Without --url it runs a development node in its own process (CPU figures
then cover both).

Survival benchmarks (--survive KIND --trials N): one publisher and one
subscriber, N disruptions, and the media gap at the subscriber for each
(p50/p95 at the end; the clients recover by themselves, as browsers do):

  ws     both websockets are cut (the clients resume)
  ice    the node stops answering the ICE paths in use (ICE restarts)
  kill   the publisher's access node is killed with SIGKILL (it moves)
  drain  the publisher's access node is drained with SIGTERM (it is moved)
  still  control for drain: the same cluster, nothing disrupted, windows as
         long as a drain trial's (which gaps the machine makes by itself)

kill and drain start a cluster of qrtn serve processes (eu-1, eu-2, us-1,
fwd-1) and restart the node after each trial.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	if *trace {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *survive != "" {
		return runSurvive(ctx, *survive, cfg.URL, *trials, cfg.Media, cfg.Logger, *asJSON, stdout, stderr)
	}
	for _, u := range strings.Split(*subURLs, ",") {
		if u = strings.TrimSuffix(strings.TrimSpace(u), "/"); u != "" {
			cfg.SubscriberURLs = append(cfg.SubscriberURLs, u)
		}
	}
	if *childMode {
		cfg.Child = &loadtest.ChildIO{In: os.Stdin, Out: stdout}
		*asJSON = true
	}
	if cfg.URL == "" {
		// In-process: the node and the clients share this process's CPU, so
		// only the node's own figures from a separate process are CPU figures.
		n, err := startLoadtestNode(ctx, cfg.Publishers+cfg.Subscribers, cfg.Logger)
		if err != nil {
			return err
		}
		defer n.Close()
		cfg.URL = strings.TrimSuffix(n.URL(), "/")
		fmt.Fprintf(stderr, "loadtest: in-process %s\n", n.Line())
	}
	if cfg.Procs > 1 {
		cfg.Spawn = spawnLoadtestChild(append(args, "--subscribe-pool", strconv.Itoa(cfg.Publishers)), cfg.URL, stderr)
	}
	progress := stdout
	if *asJSON {
		progress = stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := loadtest.Run(ctx, cfg, progress)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(stdout, *perClient)
	return nil
}

// startLoadtestNode runs a development node on loopback ports with room for
// every client of the run.
func startLoadtestNode(ctx context.Context, clients int, logger *slog.Logger) (*node.Node, error) {
	n, err := node.New(node.Config{Name: "loadtest", Dev: true,
		SFU: sfu.Config{UDPAddr: "127.0.0.1:0", MaxParticipants: clients + 1}}, logger)
	if err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// spawnLoadtestChild starts subscriber processes for --procs: this program
// with the same flags, overridden by the process's share and role (later
// flags win).
func spawnLoadtestChild(args []string, url string, stderr io.Writer) func(i, subscribers int, joinRate float64) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return func(i, subscribers int, joinRate float64) *exec.Cmd {
		a := append([]string{"loadtest"}, args...)
		a = append(a, "--url", url, "--publishers", "0", "--subscribers", strconv.Itoa(subscribers),
			"--join-rate", strconv.FormatFloat(joinRate, 'f', -1, 64), "--procs", "1", "--child",
			"--identity-prefix", fmt.Sprintf("p%d-", i), "--node-pid", "0", "--interval", "0", "--cpuprofile", "")
		cmd := exec.Command(self, a...)
		cmd.Stderr = stderr
		return cmd
	}
}
