package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/loadtest"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/report"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
	"github.com/qrtn/qrtn/sfu"
)

// fault is one injected impairment and what attribution should say.
type fault struct {
	name       string
	where, hop string
	room       string
	seen       string // what the subscriber client itself counted
	start, end int64
}

// BenchmarkAttributionAccuracy injects faults into a running network and
// counts how many the quality platform attributes to the right place. A
// synthetic publisher on access node a reaches a synthetic subscriber on
// access node b over a → f → b. Each client reaches its node through a UDP
// relay (the nodes advertise the relay's address), so its access link can
// be impaired like a trunk: the publisher's uplink (relay up), the
// subscriber's downlink (relay down), and the trunk hops a→f and f→b. A
// fault cuts the link for 1.5 s (every packet lost in its direction; both
// ways for a trunk), then leaves it lossy (40 % in runs of 20) for 1.5 s.
// A fault counts as attributed correctly when most of the subscriber's
// stalls during it are attributed to its place; a fault that left no
// recorded stall is counted apart. Figures: docs/quality.md.
//
//	go test -run XXX -bench AttributionAccuracy -benchtime 1x -timeout 30m ./cmd/qrtn/
//
// QRTN_ATTRIB_ROUNDS sets how many rounds of the four faults (default 5),
// QRTN_ATTRIB_SCALE_PCT stretches every phase (default 100), and
// QRTN_ATTRIB_DB keeps the store in that file.
func BenchmarkAttributionAccuracy(b *testing.B) {
	rounds := 5
	if v := envInt("QRTN_ATTRIB_ROUNDS"); v > 0 {
		rounds = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := filepath.Join(b.TempDir(), "quality.db")
	if keep := os.Getenv("QRTN_ATTRIB_DB"); keep != "" {
		db = keep // kept for a look afterwards: qrtn quality report --db
	}
	spec := networkSpec{
		Nodes:     []nodeSpec{{"a", "eu", "access"}, {"b", "us", "access"}, {"f", "backbone", "forwarding"}},
		Trunks:    [][2]string{{"a", "f"}, {"b", "f"}},
		Link:      netsim.LinkConfig{Delay: 20 * time.Millisecond},
		QualityDB: db,
		Tune: func(c *node.Config) {
			c.Quality.SampleEvery, c.Quality.SubscriptionEvery = time.Second, time.Second
			// Clients reach the node through a relay on 127.0.0.2, same port.
			c.SFU.NAT = []sfu.NATRule{{External: []string{"127.0.0.2"}, Type: "host", Mode: "replace"}}
		},
	}
	nw, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer nw.Close()
	relay := func(name string) *udprelay.Relay {
		port := nw.Node(name).SFU().UDPAddr().(*net.UDPAddr).Port
		r, err := udprelay.New(ctx, udprelay.Config{Listen: fmt.Sprintf("127.0.0.2:%d", port), Upstream: fmt.Sprintf("127.0.0.1:%d", port)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return r
	}
	ra, rb := relay("a"), relay("b")

	// Every fault is one a person would notice: the link is cut for
	// outageFor (every packet lost in the fault's direction), then comes
	// back lossy (40 % in runs of 20) for lossyFor. The outage is what
	// makes the subscriber freeze whatever FEC and NACKs repair; the lossy
	// tail is what a real link does as it recovers.
	outage := netsim.LinkConfig{Loss: netsim.Bernoulli(1)}
	lossy := netsim.LinkConfig{}
	if lossy.Loss, err = netsim.Burst(0.4, 20); err != nil {
		b.Fatal(err)
	}
	clean := netsim.LinkConfig{}
	// A trunk's link, both ways (a link is cut both ways), kept at 20 ms.
	trunk := func(x, y string, l netsim.LinkConfig) func() {
		return func() {
			key, ok := nw.trunkKey(x, y)
			if !ok {
				b.Fatalf("no trunk %s–%s", x, y)
			}
			l.Delay = 20 * time.Millisecond
			nw.Relays[key].SetLinks(l, l)
		}
	}
	access := func(r *udprelay.Relay, up bool) func(netsim.LinkConfig) func() {
		return func(l netsim.LinkConfig) func() {
			if up {
				return func() { r.SetLinks(l, clean) }
			}
			return func() { r.SetLinks(clean, l) }
		}
	}
	type kind struct {
		fault
		set func(netsim.LinkConfig) func()
	}
	kinds := []kind{
		{fault{name: "trunk a→f", where: qoe.WhereTrunk, hop: "a→f"}, func(l netsim.LinkConfig) func() { return trunk("a", "f", l) }},
		{fault{name: "trunk f→b", where: qoe.WhereTrunk, hop: "f→b"}, func(l netsim.LinkConfig) func() { return trunk("f", "b", l) }},
		{fault{name: "publisher's uplink", where: qoe.WhereUplink}, access(ra, true)},
		{fault{name: "subscriber's downlink", where: qoe.WhereDownlink}, access(rb, false)},
	}

	// QRTN_ATTRIB_SCALE_PCT stretches or shortens every phase (default 100).
	scale := 1.0
	if v := envInt("QRTN_ATTRIB_SCALE_PCT"); v > 0 {
		scale = float64(v) / 100
	}
	ph := func(ms int) time.Duration { return time.Duration(float64(ms)*scale) * time.Millisecond }
	var (
		outageFor = ph(1500)
		lossyFor  = ph(1500)
		before    = ph(5000) // joined, media flowing, routes recorded
		after     = ph(5000) // the stall ends, is reported and sampled
	)
	// Every fault gets a call of its own (a room per trial), so that one
	// fault's after-effects (a trunk that went down, a track that ended)
	// never spill into the next.
	var faults []fault
	for r := range rounds {
		for i, k := range kinds {
			f := k.fault
			f.room = fmt.Sprintf("acc-%d-%d", r, i)
			done := make(chan struct{})
			go func() {
				defer close(done)
				cfg := loadtest.DefaultConfig()
				cfg.URL, cfg.SubscriberURLs = strings.TrimSuffix(nw.Node("a").URL(), "/"), []string{strings.TrimSuffix(nw.Node("b").URL(), "/")}
				cfg.Room, cfg.Subscribers, cfg.Warmup, cfg.Interval = f.room, 1, time.Second, 0
				cfg.Duration = before + outageFor + lossyFor + after
				cfg.NoTWCC, cfg.QualityEvery = true, 2*time.Second
				// The node must reach the clients only through their relays.
				cfg.AdvertiseHost = "192.0.2.1"
				rep, err := loadtest.Run(ctx, cfg, nil)
				if err != nil {
					b.Error(err)
					return
				}
				f.seen = fmt.Sprintf("the client saw %d video and %d audio stalls", rep.Stalls, rep.AudioStalls)
			}()
			time.Sleep(before)
			f.start = time.Now().UnixMilli()
			k.set(outage)()
			time.Sleep(outageFor)
			k.set(lossy)()
			time.Sleep(lossyFor)
			k.set(clean)()
			f.end = time.Now().UnixMilli()
			<-done
			faults = append(faults, f)
		}
	}
	time.Sleep(3 * time.Second) // the last reports and samples reach the store
	s, err := store.Open(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UnixMilli()
	correct, withStall, stallsRight, stallsIn := 0, 0, 0, 0
	type tally struct{ n, stalled, right int }
	perKind := map[string]*tally{}
	for _, f := range faults {
		calls, err := report.Calls(context.Background(), s, report.Filter{Room: f.room, From: 0, To: now}, now, attrib.DefaultThresholds)
		if err != nil {
			b.Fatal(err)
		}
		var stalls []report.Stall
		for _, c := range calls {
			if c.Node == "b" {
				stalls = append(stalls, c.Stalls...)
			}
		}
		votes := map[string]int{}
		n := 0
		for _, st := range stalls {
			if st.At >= f.start-1000 && st.At <= f.end+3000 {
				got := st.Cause.Where + " " + st.Cause.Hop
				votes[got]++
				n++
				mark := "wrong"
				if st.Cause.Where == f.where && st.Cause.Hop == f.hop {
					stallsRight++
					mark = "right"
				}
				fmt.Fprintf(os.Stderr, "  %s: %s stall at %s (%d ms) → %s %s (%s): %s\n", f.name, st.Kind, time.UnixMilli(st.At).Format("15:04:05.0"),
					st.DurationMs, st.Cause.Where, st.Cause.Hop, mark, st.Cause.Evidence)
			}
		}
		stallsIn += n
		best, bestN := "no stall", 0
		for k, v := range votes {
			if v > bestN {
				best, bestN = k, v
			}
		}
		ok := best == f.where+" "+f.hop
		t := perKind[f.name]
		if t == nil {
			t = &tally{}
			perKind[f.name] = t
		}
		t.n++
		if n > 0 {
			withStall++
			t.stalled++
		}
		if ok {
			correct++
			t.right++
		}
		// Printed, not logged: a benchmark's log is cut after a few lines.
		verdict := map[bool]string{true: "right", false: "wrong"}[ok]
		if n == 0 {
			verdict = "no stall recorded"
		}
		fmt.Fprintf(os.Stderr, "%s %-22s %d stalls (%s), attributed %v: %s\n", time.UnixMilli(f.start).Format("15:04:05"), f.name, n, f.seen, votes, verdict)
	}
	fmt.Fprintf(os.Stderr, "| fault | injected | stalled | attributed right |\n| --- | --- | --- | --- |\n")
	for _, k := range kinds {
		t := perKind[k.name]
		if t != nil {
			fmt.Fprintf(os.Stderr, "| %s | %d | %d | %d |\n", k.name, t.n, t.stalled, t.right)
		}
	}
	fmt.Fprintf(os.Stderr, "%d faults, %d made the subscriber stall, %d attributed right (%d of %d stalls in fault windows)\n",
		len(faults), withStall, correct, stallsRight, stallsIn)
	b.ReportMetric(float64(len(faults)), "faults")
	b.ReportMetric(float64(withStall), "faults_stalled")
	b.ReportMetric(float64(correct), "faults_right")
	b.ReportMetric(float64(stallsRight)/float64(max(stallsIn, 1)), "stall_accuracy")
}

func envInt(name string) int {
	var v int
	_, _ = fmt.Sscan(strings.TrimSpace(os.Getenv(name)), &v)
	return v
}
