package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
)

const relayHelp = `Usage: qrtn relay --listen ADDR --to ADDR [impairments]

Forwards UDP datagrams from --listen to --to and the replies back, impairing
both directions in real time with the same link model as the simulator
(qrtp/netsim): a bottleneck rate with a tail-drop queue, propagation delay,
jitter, and random or bursty loss. Use it where netem is unavailable, e.g.

  qrtn perf --server --listen 127.0.0.1:9000
  qrtn relay --listen 127.0.0.1:9001 --to 127.0.0.1:9000 \
      --rate 100mbit --delay 10ms --loss 0.2 --placement before
  qrtn perf --client 127.0.0.1:9001 --time 20s

Each client address gets its own upstream socket, as behind a NAT, so one
relay serves many clients. --delay, --jitter, --rate and --queue apply to each
impaired direction, so the round trip gains 2 x delay. Loss models:
  bernoulli  each datagram lost independently with probability --loss
  ge         Gilbert model with mean loss --loss and mean burst --burst
             datagrams (Gilbert-Elliott with p = loss/(burst(1-loss)), r = 1/burst)
Placement: "before" drops before the bottleneck, as netem does (lost datagrams
take no capacity); "after" drops after it, like a lossy radio hop (they did).
A stats line is printed every --stats-every (and one at the end). Besides the
link model's counters it shows the relay's own delays on a busy machine:
read_lag (how long datagrams waited in the socket before the relay read them,
from the kernel's arrival stamps on Linux; the emulated delay runs from that
stamp, so it adds nothing until it exceeds --delay) and write_late (how long
after their due time they went out; this adds to the path's delay).

Flags:
`

// relayFlags are the parsed command line of qrtn relay.
type relayFlags struct {
	listen, to          string
	delay, jitter       time.Duration
	reorder             bool
	loss, burst         float64
	model, placement    string
	rate, queue, impair string
	rebindEvery, every  time.Duration
	seed                uint64
	maxClients          int
}

func parseRelayFlags(args []string, stderr io.Writer) (relayFlags, error) {
	var f relayFlags
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), relayHelp)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.listen, "listen", "", "UDP address to listen on for clients (required)")
	fs.StringVar(&f.to, "to", "", "UDP address to forward to (required)")
	fs.DurationVar(&f.delay, "delay", 0, "one-way propagation delay per impaired direction")
	fs.DurationVar(&f.jitter, "jitter", 0, "uniform jitter of ± this around --delay")
	fs.BoolVar(&f.reorder, "reorder", false, "let jitter reorder datagrams")
	fs.Float64Var(&f.loss, "loss", 0, "mean loss probability per direction, 0..1 (also accepts 20%)")
	fs.StringVar(&f.model, "loss-model", "bernoulli", "bernoulli | ge")
	fs.Float64Var(&f.burst, "burst", 3, "mean loss burst length in datagrams (ge only)")
	fs.StringVar(&f.placement, "placement", "before", "before | after the bottleneck")
	fs.StringVar(&f.rate, "rate", "0", "bottleneck rate, e.g. 100mbit, 1.5mbit, 800kbit; 0 = unlimited")
	fs.StringVar(&f.queue, "queue", "1bdp", "tail-drop queue: bytes (64k, 1m, 150000) or a multiple of the bandwidth-delay product (1bdp, 0.5bdp); needs --rate")
	fs.StringVar(&f.impair, "impair", "both", "which directions to impair: both | up (client to --to) | down")
	fs.DurationVar(&f.rebindEvery, "rebind-every", 0, "give each client a new upstream port this often (NAT rebinding); 0 = never")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed for the loss and jitter; 0 = from the clock")
	fs.DurationVar(&f.every, "stats-every", 5*time.Second, "print a stats line this often; 0 = never")
	fs.IntVar(&f.maxClients, "max-clients", 1024, "most clients served at once")
	if err := fs.Parse(percentLoss(args)); err != nil {
		return f, err
	}
	if f.listen == "" || f.to == "" {
		fs.Usage()
		return f, errors.New("--listen and --to are required")
	}
	return f, nil
}

// percentLoss returns args with "--loss 20%" (or --loss=20%) rewritten to
// the fraction the flag expects.
func percentLoss(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		name, val, inline := strings.Cut(a, "=")
		if !inline {
			if i == 0 || (out[i-1] != "--loss" && out[i-1] != "-loss") {
				continue
			}
			name, val = "", a
		} else if name != "--loss" && name != "-loss" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
		if !strings.HasSuffix(val, "%") || err != nil {
			continue
		}
		val = strconv.FormatFloat(v/100, 'g', -1, 64)
		if inline {
			out[i] = name + "=" + val
		} else {
			out[i] = val
		}
	}
	return out
}

// linkConfig builds the impaired direction's link model from the flags.
func (f relayFlags) linkConfig() (netsim.LinkConfig, error) {
	cfg := netsim.LinkConfig{Delay: f.delay, Jitter: f.jitter, Reorder: f.reorder}
	rate, err := parseRate(f.rate)
	if err != nil {
		return cfg, err
	}
	cfg.Rate = rate
	if cfg.QueueBytes, err = parseQueue(f.queue, rate, 2*f.delay); err != nil {
		return cfg, err
	}
	if f.loss < 0 || f.loss >= 1 {
		return cfg, fmt.Errorf("--loss %v: want 0 ≤ loss < 1", f.loss)
	}
	switch f.model {
	case "bernoulli":
		if f.loss > 0 {
			cfg.Loss = netsim.Bernoulli(f.loss)
		}
	case "ge":
		if cfg.Loss, err = netsim.Burst(f.loss, f.burst); err != nil {
			return cfg, err
		}
	default:
		return cfg, fmt.Errorf("--loss-model %q: want bernoulli or ge", f.model)
	}
	switch f.placement {
	case "before":
		cfg.Placement = netsim.LossBeforeBottleneck
	case "after":
		cfg.Placement = netsim.LossAfterBottleneck
	default:
		return cfg, fmt.Errorf("--placement %q: want before or after", f.placement)
	}
	return cfg, nil
}

// parseRate reads a rate in bits per second: "100mbit", "1.5Mbps", "800k",
// "2g", "1000000".
func parseRate(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, suffix := range []string{"bit/s", "bps", "bit", "b"} {
		if strings.HasSuffix(t, suffix) {
			t = strings.TrimSuffix(t, suffix)
			break
		}
	}
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1e3
		case 'm':
			mult = 1e6
		case 'g':
			mult = 1e9
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("rate %q: want e.g. 100mbit, 800kbit or 0", s)
	}
	return v * mult, nil
}

// parseQueue reads a queue size in bytes ("64k", "1m", "150000") or as a
// multiple of the bandwidth-delay product ("1bdp"). The BDP uses the round
// trip the relay itself adds, with a floor of ten 1500-byte datagrams.
func parseQueue(s string, rate float64, rtt time.Duration) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if rate <= 0 {
		return 0, nil // no bottleneck, no queue
	}
	if strings.HasSuffix(t, "bdp") {
		k, err := strconv.ParseFloat(strings.TrimSuffix(t, "bdp"), 64)
		if err != nil || k <= 0 {
			return 0, fmt.Errorf("queue %q: want e.g. 1bdp", s)
		}
		return netsim.QueueBDP(rate, rtt, k), nil
	}
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, strings.TrimSuffix(t, "m")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("queue %q: want bytes (64k, 150000) or 1bdp", s)
	}
	return int(v * mult), nil
}

func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseRelayFlags(args, stderr)
	if err != nil {
		return err
	}
	impaired, err := f.linkConfig()
	if err != nil {
		return err
	}
	cfg := udprelay.Config{
		Listen: f.listen, Upstream: f.to, Seed: f.seed,
		RebindEvery: f.rebindEvery, MaxClients: f.maxClients,
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	switch f.impair {
	case "both":
		cfg.Up, cfg.Down = impaired, impaired
	case "up":
		cfg.Up = impaired
	case "down":
		cfg.Down = impaired
	default:
		return fmt.Errorf("--impair %q: want both, up or down", f.impair)
	}
	r, err := udprelay.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(stdout, "relay %v -> %s rate=%s queue=%dB delay=%v jitter=%v loss=%.3g model=%s placement=%s impair=%s seed=%d\n",
		r.Addr(), f.to, f.rate, impaired.QueueBytes, f.delay, f.jitter, f.loss, f.model, f.placement, f.impair, cfg.Seed)
	var tick <-chan time.Time
	if f.every > 0 {
		t := time.NewTicker(f.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.Done():
			fmt.Fprintln(stdout, statsLine(r.Stats()))
			return nil
		case <-tick:
			fmt.Fprintln(stdout, statsLine(r.Stats()))
		}
	}
}

// statsLine formats one line of relay counters.
func statsLine(s udprelay.Stats) string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	dir := func(name string, d udprelay.DirStats) string {
		l := d.Link
		lossPct := 0.0
		if l.Sent > 0 {
			lossPct = 100 * float64(l.Lost) / float64(l.Sent)
		}
		return fmt.Sprintf("%s: sent=%d lost=%d (%.1f%%) qdrop=%d overflow=%d delivered=%d written=%d qdelay_p50=%v"+
			" read_lag_p99=%v p999=%v max=%v write_late_p99=%v p999=%v max=%v",
			name, l.Sent, l.Lost, lossPct, l.QueueDropped, d.Overflow, l.Delivered, d.Written,
			l.QueueDelay.Quantile(0.5).Round(10*time.Microsecond),
			r(d.ReadLag.Quantile(0.99)), r(d.ReadLag.Quantile(0.999)), r(d.ReadLag.Max),
			r(d.WriteLate.Quantile(0.99)), r(d.WriteLate.Quantile(0.999)), r(d.WriteLate.Max))
	}
	return fmt.Sprintf("stats %s | %s | clients=%d rebinds=%d rejected=%d",
		dir("up", s.Up), dir("down", s.Down), s.Clients, s.Rebinds, s.Rejected)
}
