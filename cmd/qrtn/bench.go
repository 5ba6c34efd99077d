package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp/bench"
)

const benchUsage = `Usage: qrtn bench [flags]

Runs QRTP's congestion-control benchmarks in virtual time over qrtp/netsim
(seeded: the same flags give the same figures on any machine) and prints a
markdown report: bulk utilization against random loss before and after the
bottleneck, 25 fps media latency, queueing delay, the cost of a ProbeRTT,
fairness between two flows, and coexistence with CUBIC, for qbbr, bbr1 and
cubic. Scenarios run in parallel, one per core; progress goes to stderr.

With no flags it runs the --quick subset (a couple of minutes on two cores).
--full runs the whole sweep and, unless --out says otherwise, writes
docs/benchmarks.md, docs/benchmarks.json and docs/bench-*.svg.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	_ = fs.Bool("quick", true, "run the quick subset (the default; --full overrides it)")
	full := fs.Bool("full", false, "run the full sweep instead of the quick subset")
	ccs := fs.String("cc", "", "controllers for bulk and media, comma-separated (default qbbr,bbr1,cubic)")
	losses := fs.String("loss", "", "loss percentages, comma-separated (quick: 0,5,20,30,50; full: 0,1,2,5,10,20,30,40,50)")
	rtts := fs.String("rtt", "", "round-trip times in ms, comma-separated (default 20,200)")
	placements := fs.String("placement", "", "loss placements: before, after or both (default both)")
	kinds := fs.String("kinds", "", "scenario kinds: bulk,media,probertt,fairness,vscubic (default all)")
	scale := fs.Float64("scale", 0, "multiply every run's duration (default 1 with --full, 0.4 quick)")
	seed := fs.Uint64("seed", 1, "simulation seed")
	jobs := fs.Int("j", 0, "scenarios run in parallel (default GOMAXPROCS)")
	out := fs.String("out", "", "directory for benchmarks.md, benchmarks.json and bench-*.svg (default docs with --full, none otherwise)")
	jsonOut := fs.Bool("json", false, "print the JSON report on stdout instead of markdown")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := bench.QuickOptions()
	if *full {
		opts = bench.FullOptions()
		if *out == "" {
			*out = "docs"
		}
	}
	if err := applyBenchFlags(&opts, *ccs, *losses, *rtts, *placements, *kinds); err != nil {
		return err
	}
	if *scale > 0 {
		opts.Scale = *scale
	}
	opts.Seed = *seed
	scenarios := opts.Scenarios()
	if len(scenarios) == 0 {
		return fmt.Errorf("no scenarios selected")
	}
	fmt.Fprintf(stderr, "qrtn bench: %d scenarios\n", len(scenarios))
	start := time.Now()
	results := bench.Run(ctx, scenarios, *jobs, func(done, total int, r *bench.Result) {
		fmt.Fprintf(stderr, "[%3d/%d %5.0fs] %-45s %s\n", done, total, time.Since(start).Seconds(), r.Name(), summary(r))
	})
	report := &bench.Report{Command: "go run ./cmd/qrtn bench " + strings.Join(args, " "), Results: results}
	if err := writeBenchFiles(report, *out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "qrtn bench: done in %.0fs\n", time.Since(start).Seconds())
	if *jsonOut {
		return report.WriteJSON(stdout)
	}
	return report.WriteMarkdown(stdout, nil)
}

// summary is the one-line figure progress shows for a result.
func summary(r *bench.Result) string {
	switch {
	case r.Error != "":
		return "error: " + r.Error
	case r.Media != nil:
		return fmt.Sprintf("p95 %.0f ms, %.1f%% within 400 ms, %d stalls", r.Media.LatencyP95ms, 100*r.Media.Within400, r.Media.Stalls600)
	case r.ProbeRTT != nil:
		return fmt.Sprintf("%d ProbeRTTs, %.1f ms of link each", r.ProbeRTT.Count, r.ProbeRTT.LostLinkMs)
	case len(r.Flows) == 2:
		return fmt.Sprintf("shares %.2f / %.2f, Jain %.3f", r.Flows[0].Share, r.Flows[1].Share, r.Jain)
	}
	return fmt.Sprintf("utilization %.3f, queue p50 %.1f%% of RTT", r.Utilization, 100*r.QueueP50Ratio)
}

func applyBenchFlags(o *bench.Options, ccs, losses, rtts, placements, kinds string) error {
	if ccs != "" {
		o.CCs = splitList(ccs)
	}
	if losses != "" {
		var ls []float64
		for _, s := range splitList(losses) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			if err != nil || v < 0 || v >= 100 {
				return fmt.Errorf("--loss: bad percentage %q", s)
			}
			ls = append(ls, v/100)
		}
		o.Losses, o.MediaLosses = ls, nil
	}
	if rtts != "" {
		o.RTTs = nil
		for _, s := range splitList(rtts) {
			v, err := strconv.Atoi(strings.TrimSuffix(s, "ms"))
			if err != nil || v <= 0 {
				return fmt.Errorf("--rtt: bad round-trip time %q", s)
			}
			o.RTTs = append(o.RTTs, v)
		}
	}
	if placements != "" {
		o.Placements = nil
		for _, p := range splitList(placements) {
			if p != bench.PlacementBefore && p != bench.PlacementAfter {
				return fmt.Errorf("--placement: %q is neither before nor after", p)
			}
			o.Placements = append(o.Placements, p)
		}
	}
	if kinds != "" {
		o.Kinds = nil
		for _, k := range splitList(kinds) {
			switch bench.Kind(k) {
			case bench.KindBulk, bench.KindMedia, bench.KindProbeRTT, bench.KindFairness, bench.KindVsCubic:
				o.Kinds = append(o.Kinds, bench.Kind(k))
			default:
				return fmt.Errorf("--kinds: unknown kind %q", k)
			}
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// writeBenchFiles writes the markdown, JSON and charts into dir.
func writeBenchFiles(r *bench.Report, dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	svgs := map[int]string{}
	for _, rtt := range benchRTTs(r) {
		name := fmt.Sprintf("bench-util-%dms.svg", rtt)
		var b bytes.Buffer
		if err := r.UtilizationChart(rtt).WriteSVG(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
		svgs[rtt] = name
	}
	var md, js bytes.Buffer
	if err := r.WriteMarkdown(&md, svgs); err != nil {
		return err
	}
	if err := r.WriteJSON(&js); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "benchmarks.json"), js.Bytes(), 0o644)
}

// benchRTTs lists the RTTs that have bulk results.
func benchRTTs(r *bench.Report) []int {
	var rtts []int
	seen := map[int]bool{}
	for _, x := range r.Results {
		if x.Kind == bench.KindBulk && !seen[x.RTTms] {
			seen[x.RTTms] = true
			rtts = append(rtts, x.RTTms)
		}
	}
	return rtts
}
