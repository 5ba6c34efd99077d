package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk/sim"
)

const simUsage = `Usage: qrtn sim --scenario FILE [--seed N] [--json] [--out PREFIX]

Runs a whole qrtn network in virtual time: every node's trunk core (the
same code a real node runs) over an emulated network, synthetic publishers
and viewers in place of browsers, and a timeline of events (links degrade,
nodes die, drain and restart, users join and leave). The same file and
seed give the same result on any machine, much faster than real time.

It prints a markdown summary: frame latency end to end and per hop,
stalls, frames delivered, time to reroute after failures, route changes,
trunk bytes per viewer, FEC and retransmission overhead, control messages
per node per second. With --json the last line is one JSON object instead
(at least nodes, rooms, frames_sent, frames_delivered, latency_p95_ms,
stalls_600ms, reroutes). --out writes PREFIX.md and PREFIX-*.svg plots.
Progress goes to stderr. Scenario files: testdata/sim/*.yaml; the format
is in docs/sim.md.

Flags:
`

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("scenario", "", "scenario file (YAML), e.g. testdata/sim/demo.yaml")
	seed := fs.Uint64("seed", 1, "seed of every random choice")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object, on the last line")
	out := fs.String("out", "", "write PREFIX.md and PREFIX-*.svg (e.g. docs/sim-demo)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	duration := fs.Duration("duration", 0, "simulate this long instead of the scenario's duration (events after it do not happen)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	profileFrom := fs.Duration("profile-from", 0, "with --cpuprofile: start profiling at this simulated time (e.g. 30s: the media phase after the joins)")
	placement := fs.String("placement", "", "place users given by region with this instead of the scenario's placer: region (a room's users of one region share a node), or the scheduler's policy auto, nearest or single")
	memprofile := fs.String("memprofile", "", "write a heap profile (live objects at the end of the run, and every allocation) to this file")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), simUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--scenario FILE is required (try testdata/sim/demo.yaml)")
	}
	s, err := sim.LoadScenario(*file)
	if err != nil {
		return err
	}
	if *duration > 0 {
		s.Duration = *duration
		s.Warmup = min(s.Warmup, *duration/2)
	}
	if err := setPlacement(s, *placement); err != nil {
		return err
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(*file), filepath.Ext(*file))
	}
	startProfile := func() error { return nil }
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		startProfile = func() error {
			startProfile = func() error { return nil }
			return pprof.StartCPUProfile(f)
		}
		if *profileFrom <= 0 {
			if err := startProfile(); err != nil {
				return err
			}
		}
		defer pprof.StopCPUProfile()
	}
	tuneGC()
	start, cpu0 := time.Now(), simCPU()
	opt := sim.Options{Seed: *seed}
	var last netsim.Stats
	var lastSim, lastCPU time.Duration
	opt.Progress = func(d time.Duration, e netsim.Stats) {
		if *profileFrom > 0 && d >= *profileFrom {
			if err := startProfile(); err != nil {
				fmt.Fprintf(stderr, "qrtn sim: cpu profile: %v\n", err)
			}
		}
		if !*quiet && (d%(10*time.Second) == 0 || d == s.Duration) {
			w, cpu := time.Since(start).Seconds(), simCPU()-cpu0
			fmt.Fprintf(stderr, "  %5.0f s simulated in %5.1f s wall, %5.1f s CPU (%.1f× real time); since the last line %d datagrams, %d polls, %.2f simulated s per CPU s\n",
				d.Seconds(), w, cpu.Seconds(), d.Seconds()/w, e.Datagrams-last.Datagrams, e.Polls-last.Polls,
				(d-lastSim).Seconds()/max(cpu-lastCPU, time.Millisecond).Seconds())
			last, lastSim, lastCPU = e, d, cpu
		}
	}
	if !*quiet {
		fmt.Fprintf(stderr, "qrtn sim: %s, %d nodes, %v simulated\n", s.Name, len(s.Nodes), s.Duration)
	}
	rep, err := sim.Run(ctx, s, opt)
	if err != nil {
		return err
	}
	if !*quiet {
		e := rep.Engine()
		fmt.Fprintf(stderr, "  engine: %d events, %d datagrams, %d polls\n", e.Events, e.Datagrams, e.Polls)
	}
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
	}
	command := fmt.Sprintf("go run ./cmd/qrtn sim --scenario %s --seed %d", *file, *seed)
	if *duration > 0 {
		command += " --duration " + duration.String()
	}
	if *placement != "" {
		command += " --placement " + *placement
	}
	if *out != "" {
		if err := rep.WriteFiles(*out, command+" --out "+*out); err != nil {
			return err
		}
	}
	if *jsonOut {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	prefix := ""
	if *out != "" {
		prefix = filepath.Base(*out)
	}
	return rep.Markdown(stdout, prefix, command)
}

// simCPU is the CPU time (user and system) the process has used: the
// progress lines give simulated seconds per CPU second, the figure that
// does not depend on how busy the machine is.
func simCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tuneGC makes the collector run less often than Go's default: a
// simulation keeps a large live heap (every node's trunks and databases)
// and allocates fast, so at GOGC=100 it spends a third of its time
// collecting. GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(6 << 30) // collect harder rather than pass 6 GiB
	}
}

// setPlacement applies --placement to a scenario.
func setPlacement(s *sim.Scenario, p string) error {
	switch p {
	case "":
	case "region":
		s.Placement.Placer, s.Placement.Policy = "region", ""
	case "auto", "nearest", "single":
		s.Placement.Placer, s.Placement.Policy = "scheduler", p
	default:
		return fmt.Errorf("--placement %q: want region, auto, nearest or single", p)
	}
	return nil
}
