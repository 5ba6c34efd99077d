package trunk_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/trunk/sim"
)

// BenchmarkFailoverBundle measures the media gap when a forwarding node
// that carries a bundle of meeting tracks across a long trunk dies: a
// publishes n one-track meetings (10 fps video, one packet a frame, key
// frames four times that), b watches them all, and every track goes
// a → f1 → g → b (40 ms) until f1 dies; then g moves the bundle to f2
// (44 ms), whose trunks carried nothing. This is what backbone50's failure
// at 40 s does to 400 eu→us meetings when they all go through the node
// that dies (docs/sim-results.md, round 4): the gap grows with the bundle
// (a key frame for every moved track crosses the newly used trunks at
// once). It reports the gap's p50 and max in ms per bundle size.
//
//	go test -run '^$' -bench FailoverBundle -benchtime 1x ./trunk/
func BenchmarkFailoverBundle(b *testing.B) {
	for _, n := range []int{10, 100, 400} {
		b.Run(fmt.Sprint("tracks=", n), func(b *testing.B) {
			var p50, worst time.Duration
			for range b.N {
				gaps := bundleFailover(b, n)
				p50, worst = gaps[len(gaps)/2], gaps[len(gaps)-1]
			}
			b.ReportMetric(float64(p50)/1e6, "gap-p50-ms")
			b.ReportMetric(float64(worst)/1e6, "gap-max-ms")
		})
	}
}

// bundleFailover runs the failure and returns each track's longest gap
// at b after it, sorted.
func bundleFailover(b *testing.B, tracks int) []time.Duration {
	cfg := sim.Config{Seed: 1}
	for name, role := range map[string]route.Role{"a": route.Access, "b": route.Access,
		"f1": route.Forwarding, "f2": route.Forwarding, "g": route.Forwarding} {
		cfg.Nodes = append(cfg.Nodes, sim.NodeSpec{Name: name, Region: "r-" + name, Role: role})
	}
	delay := func(d time.Duration) netsim.LinkConfig { return netsim.LinkConfig{Delay: d * time.Millisecond} }
	cfg.Links = []sim.LinkSpec{{A: "a", B: "f1", AB: delay(5)}, {A: "a", B: "f2", AB: delay(5)},
		{A: "f1", B: "g", AB: delay(40)}, {A: "f2", B: "g", AB: delay(44)}, {A: "g", B: "b", AB: delay(5)}}
	n, err := sim.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	if !n.RunUntil(10*time.Second, func() bool { return allTrunksUp(n) }) {
		b.Fatal("trunks not up after 10 s")
	}
	video := sim.TrackSpec{ID: "v", Kind: "video", FPS: 10, Bitrates: []float64{80e3}}
	for i := range tracks {
		room := fmt.Sprint("m", i)
		if err := n.Join("a", sim.User{ID: "p" + room, Room: room, Publish: []sim.TrackSpec{video}}); err != nil {
			b.Fatal(err)
		}
		if err := n.Join("b", sim.User{ID: "w" + room, Room: room, Watch: true}); err != nil {
			b.Fatal(err)
		}
	}
	last := map[trunk.TrackRef]time.Time{}
	gaps := map[trunk.TrackRef]time.Duration{}
	var start time.Time
	n.OnDeliver = func(node string, ref trunk.TrackRef, _ int, _ []byte) {
		now := n.Now()
		if from, ok := last[ref]; ok && !start.IsZero() {
			if from.Before(start) {
				from = start
			}
			gaps[ref] = max(gaps[ref], now.Sub(from))
		}
		last[ref] = now
	}
	n.RunFor(8 * time.Second)
	for i := range tracks {
		ref := trunk.TrackRef{Origin: "a", Room: fmt.Sprint("m", i), ID: fmt.Sprint("pm", i, "-v")}
		if fs, _ := flow(n, "g", ref, 0); fs.Upstream != "f1" {
			b.Fatalf("g takes %s from %q, want f1 (the shorter path)", ref, fs.Upstream)
		}
	}
	start = n.Now()
	if err := n.Kill("f1"); err != nil {
		b.Fatal(err)
	}
	n.RunFor(5 * time.Second)
	if len(gaps) != tracks {
		b.Fatalf("%d of %d tracks came back after the failure", len(gaps), tracks)
	}
	out := make([]time.Duration, 0, len(gaps))
	for _, g := range gaps {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}
