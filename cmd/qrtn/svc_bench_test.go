package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// BenchmarkBrowserSVCTrunk compares one VP9 SVC publisher (L3T3_KEY, two
// spatial layers at 640x360) with one VP8 simulcast publisher (rids s and
// l, s set to half size; and AV1 SVC, read from the dependency
// descriptor) so that both offer 320x180 and 640x360) at the
// same subscriber mix: on access node b, across the trunk from the
// publisher's node a, one viewer watches the small layer and one the
// large. It reports the trunk's bytes per second (both directions, QRTP
// overhead, FEC and control included) over a 15 s window, and the time
// from prefer() to the first decoded frame of the new size, measured in
// the page, for a viewer on a (near) and on b (far). Run once:
//
//	flock /tmp/qrtn-browser.lock go test -run '^$' -bench BrowserSVCTrunk -benchtime 1x ./cmd/qrtn/
func BenchmarkBrowserSVCTrunk(b *testing.B) {
	browsertest.Require(b)
	for _, c := range []struct{ name, params string }{
		{"vp9-svc", "&codec=vp9&svc=1"},
		{"vp8-simulcast", "&codec=vp8"},
		{"av1-svc", "&codec=av1&svc=1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				svcTrunkRun(b, c.params, strings.HasSuffix(c.name, "-simulcast"))
			}
		})
	}
}

func svcTrunkRun(b *testing.B, params string, halfSmall bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := startTwoRegions(b, ctx)
	br := browsertest.StartT(b, browsertest.Options{})
	const q = "&mode=meeting&autojoin=1&video=640x360@20"
	pub := br.OpenT(b, net.Node("a").URL()+"?room=m&name=pub&role=host&node=a"+params+q)
	near := br.OpenT(b, net.Node("a").URL()+"?room=m&name=near&role=viewer&node=a"+q)
	farSmall := br.OpenT(b, net.Node("b").URL()+"?room=m&name=fs&role=viewer&node=b"+q)
	farLarge := br.OpenT(b, net.Node("b").URL()+"?room=m&name=fl&role=viewer&node=b"+q)
	for _, p := range []*browsertest.Page{near, farSmall, farLarge} {
		if _, err := p.WaitStats(ctx, 60*time.Second, "pub's video", func(s browsertest.Stats) bool { return s.Decoding("pub", 10, 2000) }); err != nil {
			b.Fatal(err)
		}
	}
	if halfSmall {
		js := `(async () => { const tr = window.qrtn.session._pub.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'video');
			const p = tr.sender.getParameters(); for (const e of p.encodings) if (e.rid === 's') e.scaleResolutionDownBy = 2; await tr.sender.setParameters(p); })()`
		if err := pub.Eval(ctx, js, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, x := range []struct {
		p     *browsertest.Page
		layer string
		maxW  int
		minW  int
	}{{farSmall, "small", 320, 1}, {farLarge, "large", 10000, 640}} {
		if err := x.p.Prefer(ctx, "pub", x.layer); err != nil {
			b.Fatal(err)
		}
		if _, err := x.p.WaitStats(ctx, 45*time.Second, x.layer, func(s browsertest.Stats) bool {
			v, ok := s.Track("pub", "video")
			return ok && v.Layer == x.layer && v.FrameWidth >= x.minW && v.FrameWidth <= x.maxW
		}); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(6 * time.Second) // dynacast pauses what nobody wants (3 s)
	trunkBytes := func() uint64 {
		var n uint64
		for _, r := range net.Relays {
			st := r.Stats()
			n += st.Up.Link.SentBytes + st.Down.Link.SentBytes
		}
		return n
	}
	const window = 15 * time.Second
	b0 := trunkBytes()
	time.Sleep(window)
	rate := float64(trunkBytes()-b0) * 8 / window.Seconds() / 1000
	b.ReportMetric(rate, "trunk-kbit/s")
	var layers []string
	for _, rs := range net.Node("b").SFU().Snapshot() {
		for _, ps := range rs.Participants {
			for _, tr := range ps.Tracks {
				if tr.Kind == "video" {
					for _, l := range tr.Layers {
						layers = append(layers, fmt.Sprintf("%s paused=%v %d kbit/s", l.RID, l.Paused, l.Bitrate/1000))
					}
				}
			}
		}
	}
	b.Logf("trunk a↔b %.0f kbit/s; b's mirror of pub's video: %v", rate, layers)

	// Switch times: prefer() to the first decoded frame of the new size,
	// measured in the page (stats every 20 ms there, no round trips).
	const switchJS = `(async (layer, wantSmall) => {
		const t0 = performance.now();
		await window.qrtn.prefer('pub', layer);
		for (;;) {
			const s = await window.qrtn.stats();
			const v = s.subscribed.find((x) => (x.name === 'pub' || x.participant === 'pub') && x.kind === 'video');
			if (v && v.frameWidth > 0 && (wantSmall ? v.frameWidth <= 320 : v.frameWidth >= 640)) return performance.now() - t0;
			if (performance.now() - t0 > 20000) return -1;
			await new Promise((r) => setTimeout(r, 20));
		}
	})`
	for _, x := range []struct {
		name string
		p    *browsertest.Page
	}{{"near", near}, {"far", farSmall}} {
		var ups, downs []float64
		for range 4 {
			for _, layer := range []string{"large", "small"} {
				time.Sleep(2 * time.Second)
				var ms float64
				if err := x.p.Eval(ctx, fmt.Sprintf("%s(%q, %v)", switchJS, layer, layer == "small"), &ms); err != nil {
					b.Fatal(err)
				}
				if layer == "large" {
					ups = append(ups, ms)
				} else {
					downs = append(downs, ms)
				}
			}
		}
		b.ReportMetric(median(ups), x.name+"-up-ms")
		b.ReportMetric(median(downs), x.name+"-down-ms")
		b.Logf("%s switch small→large ms %v, large→small ms %v", x.name, ups, downs)
	}
	s, _ := farSmall.Stats(ctx)
	v, _ := s.Track("pub", "video")
	b.Logf("far viewer after the switches: freezes %d (%.2fs), frames %d", v.FreezeCount, v.TotalFreezesDuration, v.FramesDecoded)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
