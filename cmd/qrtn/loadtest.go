package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/qrtn/qrtn/loadtest"
)

func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := loadtest.DefaultConfig()
	fs.StringVar(&cfg.URL, "url", "", "the node's HTTP base URL, e.g. http://127.0.0.1:7880 (in dev mode, for /api/token)")
	fs.StringVar(&cfg.Room, "room", cfg.Room, "room to join")
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "room mode: meeting or live")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "synthetic publishers (each sends simulcast VP8 s+l and Opus)")
	fs.IntVar(&cfg.Subscribers, "subscribers", cfg.Subscribers, "synthetic subscribers (viewers)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measurement window, after every client joined and the warm-up")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "wait after the last join before measuring")
	fs.StringVar(&cfg.Prefer, "prefer", "", "layer preference subscribers send for every video: large, small, or empty for none")
	fs.Float64Var(&cfg.JoinRate, "join-rate", cfg.JoinRate, "subscriber joins per second")
	fs.DurationVar(&cfg.Interval, "interval", cfg.Interval, "progress line interval (0: none)")
	fs.IntVar(&cfg.NodePID, "node-pid", 0, "pid of the node process, to report its CPU use and CPU per forwarded packet")
	fs.IntVar(&cfg.Media.FPS, "fps", cfg.Media.FPS, "video frames per second")
	fs.IntVar(&cfg.Media.LargeBitrate, "large-bps", cfg.Media.LargeBitrate, "bit/s of the large simulcast layer (rid l)")
	fs.IntVar(&cfg.Media.SmallBitrate, "small-bps", cfg.Media.SmallBitrate, "bit/s of the small simulcast layer (rid s)")
	fs.IntVar(&cfg.Media.AudioBitrate, "audio-bps", cfg.Media.AudioBitrate, "bit/s of Opus audio (0: no audio)")
	fs.DurationVar(&cfg.Media.KeyInterval, "keyframe-interval", cfg.Media.KeyInterval, "periodic keyframe interval (PLI/FIR also get one)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object (progress lines go to stderr)")
	perClient := fs.Int("list", 20, "list every client in the text report when there are at most this many")
	verbose := fs.Bool("v", false, "log client warnings to stderr")
	cpuProfile := fs.String("cpuprofile", "", "write the loadtest's own CPU profile to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: qrtn loadtest --url http://NODE [flags]

Synthetic pion clients join a room on an access node through the signaling
protocol: publishers send generated simulcast VP8 (≈1.5 Mbit/s "l" + ≈150
kbit/s "s", keyframes on PLI and periodically) and Opus; subscribers receive
and measure bitrate, loss, frame latency (each frame carries its send time)
and stalls (600 ms without a new video frame). Progress lines go out while it
runs, a summary (or --json) at the end. Tokens come from the node's dev-mode
GET /api/token. For CPU figures run the node pinned to a core and pass its pid:

  taskset -c 0 qrtn serve &  taskset -c 1 qrtn loadtest --url http://127.0.0.1:PORT --node-pid $!

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.URL == "" {
		fs.Usage()
		return errors.New("--url is required")
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
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
