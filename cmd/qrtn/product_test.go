package main

import (
	"context"
	"log/slog"
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
	pub := br.OpenT(t, net.Node("a").URL()+"?room=p&name=pub&role=host&codec=h264"+q)
	viewer := br.OpenT(t, net.Node("b").URL()+"?room=p&name=far&role=viewer"+q)

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
