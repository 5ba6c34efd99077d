package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/report"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserStallAttributedToTrunk is the quality platform end to end: a
// host on access node a (eu) publishes to a viewer on access node b (us)
// over a → f → b. The demo's link control makes the trunk f–b lossy and
// bursty (Gilbert-Elliott) for a few seconds; the viewer's video freezes.
// Its browser's quality reports, the nodes' trunk samples and the route
// meet in the demo's store, and GET /api/quality/calls on b attributes
// the freeze to the trunk hop f→b with its evidence. The link raises an
// early-warning alert too.
func TestBrowserStallAttributedToTrunk(t *testing.T) {
	browsertest.Exclusive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	spec := networkSpec{
		Nodes:     []nodeSpec{{"a", "eu", "access"}, {"b", "us", "access"}, {"f", "backbone", "forwarding"}},
		Trunks:    [][2]string{{"a", "f"}, {"b", "f"}},
		Link:      netsim.LinkConfig{Delay: 20 * time.Millisecond},
		QualityDB: filepath.Join(t.TempDir(), "quality.db"),
		Tune:      func(c *node.Config) { c.Quality.SampleEvery = time.Second },
	}
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	a, b := net.Node("a").URL(), net.Node("b").URL()

	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	br.OpenT(t, a+"?room=q&name=pub&mode=live&role=host&autojoin=1&node=a&video=640x360@20")
	sub := br.OpenT(t, b+"?room=q&name=sub&mode=live&role=viewer&autojoin=1&node=b")
	if _, err := sub.WaitStats(ctx, 60*time.Second, "pub's video across f", func(s browsertest.Stats) bool {
		return s.Joined && s.Decoding("pub", 40, 1000)
	}); err != nil {
		t.Fatal(err)
	}

	// 40 % of the packets lost, in runs of 30 on average: QRTP's FEC and
	// retransmission cannot hide that, media expires, the viewer freezes.
	if code := postJSON(t, a+"api/demo/link", map[string]any{"from": "f", "to": "b", "loss": 0.4, "burst": 30}, nil); code != 200 {
		t.Fatalf("link: status %d", code)
	}
	// Frozen: no frame decoded for over a second (Chromium counts a
	// freeze only once it ends). The link comes back right then, before
	// the trunk gives up and the room loses the publisher.
	lastFrames, lastChange := int64(-1), time.Now()
	frozen, err := sub.WaitStats(ctx, 30*time.Second, "the viewer to freeze", func(s browsertest.Stats) bool {
		v, ok := s.Track("pub", "video")
		if !ok {
			return false
		}
		if v.FramesDecoded != lastFrames {
			lastFrames, lastChange = v.FramesDecoded, s.At
		}
		return s.At.Sub(lastChange) >= 1200*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := postJSON(t, a+"api/demo/link", map[string]any{"from": "f", "to": "b", "loss": 0, "burst": 0}, nil); code != 200 {
		t.Fatalf("link: status %d", code)
	}
	fv, _ := frozen.Track("pub", "video")
	if _, err := sub.WaitStats(ctx, 30*time.Second, "the video to come back", func(s browsertest.Stats) bool {
		v, _ := s.Track("pub", "video")
		return v.FramesDecoded > fv.FramesDecoded+40
	}); err != nil {
		t.Fatal(err)
	}

	// The viewer's next report carries the series with the freeze in it.
	var got report.Call
	deadline := time.Now().Add(45 * time.Second)
	for found := false; !found; {
		var calls struct{ Calls []report.Call }
		getJSON(t, b+"api/quality/calls?room=q", &calls)
		for _, c := range calls.Calls {
			if c.Name != "sub" {
				continue
			}
			got = c
			for _, st := range c.Stalls {
				if st.Kind == "video" && st.Cause.Where == qoe.WhereTrunk && st.Cause.Hop == "f→b" {
					found = true
					t.Logf("stall at %s for %d ms: %s %s: %s", time.UnixMilli(st.At).Format("15:04:05.000"), st.DurationMs,
						st.Cause.Where, st.Cause.Hop, st.Cause.Evidence)
				}
			}
		}
		if !found && time.Now().After(deadline) {
			t.Fatalf("no video stall of sub attributed to trunk f→b; sub's call: %+v", got)
		}
		if !found {
			time.Sleep(time.Second)
		}
	}
	for _, st := range got.Stalls {
		t.Logf("sub's stall at %s: %s %d ms from %s: %s %s: %s", time.UnixMilli(st.At).Format("15:04:05.000"), st.Kind, st.DurationMs,
			st.Publisher, st.Cause.Where, st.Cause.Hop, st.Cause.Evidence)
	}
	if got.Node != "b" || got.JoinMs <= 0 || got.Compliance >= 1 {
		t.Errorf("sub's call %+v", got)
	}
	// The terminal report says the same, from any node.
	var out bytes.Buffer
	if err := runQuality(ctx, []string{"report", "--room", "q", "--url", net.Node("f").URL()}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "trunk f→b") {
		t.Errorf("qrtn quality report: %v\n%s", err, out.String())
	}
	checkQualityPage(ctx, t, br, net.Node("f").URL()+"quality?room=q&session="+got.Session)
	// The network page offers the same controls to a person.
	netPage := br.OpenT(t, b+"network")
	if err := browsertest.Poll(ctx, 20*time.Second, time.Second, func(ctx context.Context) (bool, string, error) {
		var rows int
		err := netPage.Eval(ctx, `document.querySelectorAll('#demo-controls tr').length`, &rows)
		return err == nil && rows >= 2+3+2, fmt.Sprint(rows, " rows ", err), nil
	}); err != nil {
		t.Errorf("demo controls on /network: %v", err)
	}
	var alerts struct{ Alerts []qoe.Alert }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		getJSON(t, a+"api/quality/alerts", &alerts)
		raised := false
		for _, al := range alerts.Alerts {
			raised = raised || (al.Subject == "f→b" && al.State == "firing")
		}
		if raised {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert fired for f→b: %+v", alerts.Alerts)
		}
	}
}

// checkQualityPage opens /quality on a call: the stall shows its cause,
// the hops their charts; at 1280×800 and at 390×844 nothing overflows
// sideways. QRTN_SCREENSHOTS=DIR keeps screenshots of both.
func checkQualityPage(ctx context.Context, t *testing.T, br *browsertest.Browser, url string) {
	t.Helper()
	page := br.OpenT(t, url)
	for _, size := range []struct {
		name   string
		w, h   int
		mobile bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		if err := page.Viewport(ctx, size.w, size.h, size.mobile); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Cause    string
			Plots    int
			Bars     int
			Overflow bool
			Fits     bool
		}
		err := browsertest.Poll(ctx, 30*time.Second, time.Second, func(ctx context.Context) (bool, string, error) {
			js := `(() => ({
				cause: [...document.querySelectorAll('#stalls .cause')].map((c) => c.textContent).find((c) => c === 'trunk f→b') ?? '',
				plots: document.querySelectorAll('#hops .plot svg path.series').length,
				bars: document.querySelectorAll('#timeline svg rect').length,
				overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
				fits: (document.querySelector('#timeline svg')?.viewBox.baseVal.width ?? 1e9) <= window.innerWidth,
			}))()`
			if err := page.Eval(ctx, js, &got); err != nil {
				return false, err.Error(), nil
			}
			// fits: the timeline is drawn at the page's width, so its
			// labels stay legible on a phone.
			return got.Cause == "trunk f→b" && got.Plots >= 4 && got.Bars >= 2 && !got.Overflow && got.Fits, fmt.Sprintf("%+v", got), nil
		})
		if err != nil {
			var dbg any
			_ = page.Eval(ctx, `({iw: innerWidth, plots: document.querySelectorAll('#hops .plot').length, note: document.getElementById('hops-note').textContent, status: document.getElementById('status').textContent})`, &dbg)
			t.Errorf("/quality at %s: %v (last %+v; %v)", size.name, err, got, dbg)
		}
		if dir := os.Getenv("QRTN_SCREENSHOTS"); dir != "" {
			if png, err := page.FullScreenshot(ctx); err == nil {
				_ = os.WriteFile(filepath.Join(dir, "quality-"+size.name+".png"), png, 0o644)
			}
		}
	}
}
