package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserProductAcrossRegions runs the meeting product's features in
// real Chromium across a `qrtn demo` network: a publisher on access node a,
// a viewer on access node b, the only route through forwarding node f over
// trunks with 30 ms delay and 2 % loss per hop. The viewer must decode the
// publisher's H.264 (key frames found in H.264 across the trunks).
func TestBrowserProductAcrossRegions(t *testing.T) {
	browsertest.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net, err := startNetwork(ctx, networkSpec{
		Nodes:  []nodeSpec{{"a", "eu", "access"}, {"b", "us", "access"}, {"f", "backbone", "forwarding"}},
		Trunks: [][2]string{{"a", "f"}, {"b", "f"}},
		Link:   netsim.LinkConfig{Delay: 30 * time.Millisecond, Loss: netsim.Bernoulli(0.02)},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	const q = "&mode=meeting&autojoin=1&video=640x360@20"
	pub := br.OpenT(t, net.Node("a").URL()+"?room=p&name=pub&node=a&role=host&codec=h264"+q)
	viewer := br.OpenT(t, net.Node("b").URL()+"?room=p&name=far&node=b&role=viewer"+q)

	// Chat crosses the regions on the data channel and the trunks'
	// reliable stream, both ways; a flood is cut by the node's rate limit
	// and the flooder is told.
	t.Run("data", func(t *testing.T) {
		waitJoined := func(p *browsertest.Page) {
			if err := browsertest.Poll(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string, error) {
				var open bool
				err := p.Eval(ctx, `(() => { const s = window.qrtn.session; return !!(s && s._channels._reliable && s._channels._reliable.readyState === 'open'); })()`, &open)
				return open, "data channel not open", err
			}); err != nil {
				t.Fatal(err)
			}
		}
		waitJoined(pub)
		waitJoined(viewer)
		waitChat := func(p *browsertest.Page, text string) {
			if err := browsertest.Poll(ctx, 20*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string, error) {
				var n int
				err := p.Eval(ctx, `window.qrtn.messages().filter((m) => m.text === `+jsQuote(text)+` && !m.self).length`, &n)
				return n == 1, "not received", err
			}); err != nil {
				t.Fatalf("chat %q: %v", text, err)
			}
		}
		if err := pub.Eval(ctx, `window.qrtn.chat('hello from eu')`, nil); err != nil {
			t.Fatal(err)
		}
		waitChat(viewer, "hello from eu")
		if err := viewer.Eval(ctx, `window.qrtn.chat('hello from us')`, nil); err != nil {
			t.Fatal(err)
		}
		waitChat(pub, "hello from us")

		var before struct{ Received int }
		if err := viewer.Eval(ctx, `window.qrtn.stats().then((s) => s.data)`, &before); err != nil {
			t.Fatal(err)
		}
		if err := pub.Eval(ctx, `(() => { for (let i = 0; i < 600; i++) window.qrtn.session.sendData('x' + i, {topic: 'flood'}); })()`, nil); err != nil {
			t.Fatal(err)
		}
		var errs int
		if err := browsertest.Poll(ctx, 20*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			err := pub.Eval(ctx, `window.qrtn.stats().then((s) => s.data.errors)`, &errs)
			return errs > 0, "no rate_limited error", err
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // what passed the limit arrives
		var after struct{ Received int }
		if err := viewer.Eval(ctx, `window.qrtn.stats().then((s) => s.data)`, &after); err != nil {
			t.Fatal(err)
		}
		got := after.Received - before.Received
		t.Logf("flood: 600 sent, %d delivered across the regions", got)
		if got < 30 || got > 200 {
			t.Errorf("a flood of 600 messages delivered %d across the regions, want the burst and a second's rate (30..200)", got)
		}
	})

	// The far viewer's tile of pub shows the path: a → f → b, two hops.
	t.Run("path", func(t *testing.T) {
		var hops string
		if err := browsertest.Poll(ctx, 20*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			err := viewer.Eval(ctx, `document.querySelector('.tile[data-participant]:not([data-tile="self"])')?.dataset.hops ?? ''`, &hops)
			return hops == "2", "hops " + hops, err
		}); err != nil {
			t.Fatal(err)
		}
	})

	// The network page fits a laptop and a phone, with its figures explained.
	t.Run("network-page", func(t *testing.T) {
		np := br.OpenT(t, net.Node("b").URL()+"network")
		for _, vp := range [][2]int64{{1280, 800}, {390, 844}} {
			if err := np.SetViewport(ctx, vp[0], vp[1]); err != nil {
				t.Fatal(err)
			}
			var got struct {
				ScrollW, InnerW float64
				Rows            int
				Explained       bool
			}
			if err := browsertest.Poll(ctx, 20*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, string, error) {
				err := np.Eval(ctx, `({scrollW: document.documentElement.scrollWidth, innerW: innerWidth,
					rows: document.querySelectorAll('#trunks tbody tr').length,
					explained: document.querySelector('.explain').textContent.includes('FEC K/M')})`, &got)
				return got.Rows > 0, "no trunk rows", err
			}); err != nil {
				t.Fatal(err)
			}
			if got.ScrollW > got.InnerW || !got.Explained {
				t.Errorf("network page at %dx%d: %+v", vp[0], vp[1], got)
			}
			if png, err := np.Screenshot(ctx); err == nil {
				f := filepath.Join(os.TempDir(), "qrtn-screenshots", fmt.Sprintf("network-%dx%d.png", vp[0], vp[1]))
				if os.MkdirAll(filepath.Dir(f), 0o755) == nil && os.WriteFile(f, png, 0o644) == nil {
					t.Logf("screenshot %s", f)
				}
			}
		}
	})

	t.Run("h264", func(t *testing.T) {
		s, err := viewer.WaitStats(ctx, 45*time.Second, "pub's H.264 across f", func(s browsertest.Stats) bool {
			return s.Decoding("pub", 30, 2000)
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Track("pub", "video"); v.Codec != "H264" {
			t.Errorf("the far viewer decodes %q, want H264: %s", v.Codec, s)
		}
	})

	// A screen share (a canvas capture) is a second video track marked
	// screen; the far viewer gets its large layer: full 1280x720.
	t.Run("screen", func(t *testing.T) {
		if err := pub.Eval(ctx, `window.qrtn.shareScreen({fake: true})`, nil); err != nil {
			t.Fatal(err)
		}
		s, err := viewer.WaitStats(ctx, 45*time.Second, "pub's screen share across f", func(s browsertest.Stats) bool {
			v, ok := s.Screen("pub")
			c, _ := s.Track("pub", "video")
			return ok && v.FramesDecoded > 10 && v.FrameWidth >= 1280 && c.FramesDecoded > 0
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("far viewer: %s", s)
		if err := pub.Eval(ctx, `window.qrtn.stopScreen()`, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := viewer.WaitStats(ctx, 30*time.Second, "the screen share gone", func(s browsertest.Stats) bool {
			_, ok := s.Screen("pub")
			return !ok
		}); err != nil {
			t.Fatal(err)
		}
	})
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
