package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowsersScheduled: real Chromium tabs open one entry URL (on any
// node) of a demo network with access nodes in eu, us and ap, and each is
// placed by the scheduler: Ann and Bob's hints put them in us and ap; Cat,
// who opens a different node's URL with Ann's region, lands on Ann's node.
// Each tab probes one node per region first (alike on loopback, so the
// hints decide; the margin that would make probes decisive is raised so
// that a busy machine's stutter cannot). All three see and hear each other across the trunks, and
// each page says where it joined and why.
func TestBrowsersScheduled(t *testing.T) {
	browsertest.Exclusive(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Probes on loopback are alike, except when a busy machine delays one
	// ping by tens of ms: tell the schedulers that no RTT difference is
	// decisive here, so that the hints place the tabs whatever the load.
	net := threeRegions(t, ctx, func(c *node.JoinConfig) { c.Scheduler.RTTMarginMs = 1000 })
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	const media = "&autojoin=1&video=320x240@15"
	entry, other := net.Node("eu-1").URL(), net.Node("ap-1").URL()
	tabs := []struct {
		name, url, want string
		page            *browsertest.Page
	}{
		{name: "ann", url: entry + "?room=s&name=ann&region=us" + media, want: "us-1"},
		{name: "bob", url: entry + "?room=s&name=bob&region=ap" + media, want: "ap-1"},
		{name: "cat", url: other + "?room=s&name=cat&region=us" + media, want: "us-1"},
	}
	for i := range tabs {
		tabs[i].page = br.OpenT(t, tabs[i].url)
		// One after the other: Cat must find Ann's room where Ann is.
		s, err := tabs[i].page.WaitStats(ctx, 30*time.Second, tabs[i].name+" joined", func(s browsertest.Stats) bool {
			return s.Joined && s.Node != nil || s.Error != ""
		})
		if err != nil || s.Error != "" {
			t.Fatalf("%s: %v %s", tabs[i].name, err, s)
		}
		if s.Node.Name != tabs[i].want {
			t.Fatalf("%s joined %s (%s), want %s", tabs[i].name, s.Node.Name, s.Node.Region, tabs[i].want)
		}
		var pl struct {
			Reasons []string           `json:"reasons"`
			RTTs    map[string]float64 `json:"rtts"`
		}
		if err := tabs[i].page.Eval(ctx, `window.qrtn.stats().then(s => s.placement)`, &pl); err != nil {
			t.Fatal(err)
		}
		var status string
		_ = tabs[i].page.Eval(ctx, `document.querySelector('#status').textContent`, &status)
		t.Logf("%s: %s; probes %v", tabs[i].name, status, pl.RTTs)
		if len(pl.RTTs) != 3 || len(pl.Reasons) == 0 {
			t.Errorf("%s: probes %v (want one per region), reasons %v", tabs[i].name, pl.RTTs, pl.Reasons)
		}
	}
	// A join that fails on the chosen node moves on to the next candidate:
	// a decision whose first node is gone (nothing listens) joins us-1.
	var fo struct {
		Joined string                `json:"joined"`
		Failed []string              `json:"failed"`
		Node   struct{ Name string } `json:"node"`
	}
	js := fmt.Sprintf(`import('/qrtn-join.js').then(async (m) => {
		const d = {node: 'gone-1', region: 'us', url: 'http://%s/', reasons: [], alternatives: [{node: 'us-1', region: 'us', url: %q}]};
		const s = await m.joinPlaced(d, {room: 'failover', name: 'zed', role: 'viewer'}, {mode: 'meeting'});
		const out = {joined: s.placement.joined, failed: s.placement.failed, node: s.node};
		s.leave();
		return out;
	})`, freeAddr(t, true), net.Node("us-1").URL())
	if err := tabs[0].page.Eval(ctx, js, &fo); err != nil {
		t.Fatal(err)
	}
	if fo.Joined != "us-1" || fo.Node.Name != "us-1" || len(fo.Failed) != 1 || !strings.HasPrefix(fo.Failed[0], "gone-1: ") {
		t.Errorf("failover: %+v", fo)
	}
	for _, tab := range tabs {
		var peers []string
		for _, o := range tabs {
			if o.name != tab.name {
				peers = append(peers, o.name)
			}
		}
		if _, err := tab.page.WaitStats(ctx, 45*time.Second, tab.name+" decodes "+peers[0]+" and "+peers[1], func(s browsertest.Stats) bool {
			return s.Decoding(peers[0], 20, 1000) && s.Decoding(peers[1], 20, 1000)
		}); err != nil {
			for _, x := range tabs {
				s, _ := x.page.Stats(ctx)
				t.Logf("%s: %s", x.name, s)
			}
			t.Fatal(err)
		}
	}
}

// BenchmarkEntryToFirstFrame measures, in Chromium, the time from opening
// the entry URL (navigation start) to the first decoded frame of a
// publisher already in the room, probes and scheduling included, on the
// demo's default network (three regions, trunks of 80 ms one way with 10%
// loss). The publisher is in eu; each trial opens a fresh tab on the eu
// node's URL with a region hint in turn (eu: the same node; us, ap: across
// trunks) and closes it after. QRTN_ENTRY_TRIALS sets the trials per
// region (default 10). Run it alone, holding the browser lock:
//
//	flock /tmp/qrtn-browser.lock go test -run XXX -bench EntryToFirstFrame -benchtime 1x ./cmd/qrtn
func BenchmarkEntryToFirstFrame(b *testing.B) {
	browsertest.Exclusive(b)
	trials := 10
	if v, err := strconv.Atoi(os.Getenv("QRTN_ENTRY_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := parseDemoFlags(nil, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	spec, err := f.network()
	if err != nil {
		b.Fatal(err)
	}
	spec.Tune = func(c *node.Config) { c.Scheduler.Rate, c.Scheduler.Burst = 1000, 1000 }
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	entry := net.Node("eu-1").URL()
	waitJoin(b, entry, "room=warm&name=w&region=ap", "ap-1", 20*time.Second)
	waitJoin(b, entry, "room=warm&name=w&region=us", "us-1", 20*time.Second)
	br := browsertest.StartT(b, browsertest.Options{})
	pub := br.OpenT(b, entry+"?room=bench&name=pub&region=eu&autojoin=1&video=640x360@20")
	if _, err := pub.WaitStats(ctx, 30*time.Second, "publisher sending", func(s browsertest.Stats) bool {
		return s.Joined && len(s.Publishing) > 0
	}); err != nil {
		b.Fatal(err)
	}
	byRegion := map[string][]float64{}
	var pageMs, placeMs []float64 // page load to start; asking and probing
	b.ResetTimer()
	for i := range 3 * trials {
		region := []string{"eu", "us", "ap"}[i%3]
		p := br.OpenT(b, entry+"?room=bench&role=viewer&mode=meeting&region="+region+"&autojoin=1")
		s, err := p.WaitStats(ctx, 30*time.Second, "first frame", func(s browsertest.Stats) bool {
			return len(s.Timing.FirstFrameMs) > 0 || s.Error != ""
		})
		if err != nil || s.Error != "" {
			b.Fatalf("trial %d (%s): %v %s", i, region, err, s)
		}
		for _, ms := range s.Timing.FirstFrameMs {
			byRegion[region] = append(byRegion[region], s.Timing.StartedMs+ms)
		}
		var placing float64
		_ = p.Eval(ctx, `window.qrtn.stats().then(s => s.placement ? s.placement.ms : 0)`, &placing)
		pageMs, placeMs = append(pageMs, s.Timing.StartedMs), append(placeMs, placing)
		p.Close()
	}
	b.StopTimer()
	var all []float64
	for _, r := range []string{"eu", "us", "ap"} {
		xs := byRegion[r]
		all = append(all, xs...)
		slices.Sort(xs)
		b.Logf("%s (%s): p50 %.0f ms, p95 %.0f ms over %d tabs: %v", r, map[bool]string{true: "the publisher's node", false: "across trunks"}[r == "eu"],
			pct(xs, 50), pct(xs, 95), len(xs), xs)
	}
	slices.Sort(all)
	slices.Sort(pageMs)
	slices.Sort(placeMs)
	b.Logf("all: p50 %.0f ms, p95 %.0f ms; of which page load p50 %.0f ms, scheduling with probes p50 %.0f ms (p95 %.0f ms)",
		pct(all, 50), pct(all, 95), pct(pageMs, 50), pct(placeMs, 50), pct(placeMs, 95))
	b.ReportMetric(pct(all, 50), "p50-ms")
	b.ReportMetric(pct(all, 95), "p95-ms")
	b.ReportMetric(pct(byRegion["eu"], 50), "same-node-p50-ms")
	b.ReportMetric(pct(byRegion["eu"], 95), "same-node-p95-ms")
}

// pct is the p-th percentile of sorted xs (nearest rank).
func pct(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[min(len(xs)-1, max(0, (len(xs)*p+99)/100-1))]
}
