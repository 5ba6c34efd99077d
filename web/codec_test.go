package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserCodecs publishes from the demo page with each codec of
// &codec=, in real Chromium, and checks that a viewer decodes it and that
// stats() names it, as simulcast (the viewer's small preference brings the
// small layer). One publisher at a time keeps two cores able to
// encode.
func TestBrowserCodecs(t *testing.T) {
	b := browsertest.StartT(t, browsertest.Options{})
	n := startNodeT(t)
	base := strings.TrimSuffix(n.URL(), "/")
	ctx := context.Background()
	for _, c := range []struct{ param, codec string }{{"vp9", "VP9"}, {"h264", "H264"}, {"av1", "AV1"}} {
		room := "codec-" + c.param
		pub := b.OpenT(t, pageURL(base, room, "pub", "meeting", "host")+"&codec="+c.param)
		viewer := b.OpenT(t, pageURL(base, room, "viewer", "meeting", "viewer"))
		s := waitDecoding(t, viewer, []string{"pub"}, 10)
		v, _ := s.Track("pub", "video")
		if v.Codec != c.codec {
			t.Errorf("%s: the viewer decodes %q, want %q: %s", c.param, v.Codec, c.codec, s)
		}
		// VP9, AV1 and H.264 go with a VP8 backup (qrtn-subscribe.js),
		// which nobody here needs: dynacast pauses it.
		ps, _ := pub.Stats(ctx)
		primary := 0
		for _, o := range ps.Publishing {
			switch {
			case o.Kind != "video":
			case o.Codec == "video/"+c.codec:
				primary++
			case o.Codec == "video/VP8":
			default:
				t.Errorf("%s: the publisher sends layer %s as %s", c.param, o.RID, o.Codec)
			}
		}
		if primary == 0 {
			t.Errorf("%s: the publisher sends no %s", c.param, c.codec)
		}
		t.Logf("%s: %s", c.param, s)
		if err := viewer.Prefer(ctx, "pub", "small"); err != nil {
			t.Fatal(err)
		}
		if _, err := viewer.WaitStats(ctx, 45*time.Second, fmt.Sprintf("the small %s layer", c.codec), func(s browsertest.Stats) bool {
			v, ok := s.Track("pub", "video")
			return ok && v.Layer == "small" && v.FrameWidth > 0 && v.FrameWidth <= 320 && v.Codec == c.codec
		}); err != nil {
			t.Fatal(err)
		}
		pub.Close()
		viewer.Close()
	}

	// Last N = 0: a viewer that shows no speaker's video receives none of
	// it, and the publisher's layers, watched by nobody, are paused
	// upstream by dynacast (the node's snapshot says so).
	b.OpenT(t, pageURL(base, "lastn", "quiet", "meeting", "host"))
	ln := b.OpenT(t, pageURL(base, "lastn", "viewer", "meeting", "viewer")+"&lastn=0")
	if _, err := ln.WaitStats(ctx, 45*time.Second, "quiet's audio", func(s browsertest.Stats) bool {
		a, ok := s.Track("quiet", "audio")
		return ok && a.BytesReceived > 2000
	}); err != nil {
		t.Fatal(err)
	}
	var paused []sfu.LayerSnapshot
	if err := browsertest.Poll(ctx, 30*time.Second, 500*time.Millisecond, func(context.Context) (bool, string, error) {
		paused = nil
		for _, rs := range n.SFU().Snapshot() {
			for _, p := range rs.Participants {
				for _, tr := range p.Tracks {
					if rs.Name == "lastn" && tr.Kind == "video" {
						paused = tr.Layers
					}
				}
			}
		}
		all := len(paused) > 0
		for _, l := range paused {
			all = all && l.Paused
		}
		return all, fmt.Sprintf("layers %+v", paused), nil
	}); err != nil {
		t.Fatalf("last N = 0: the publisher's video is not paused upstream: %v", err)
	}
	s, _ := ln.Stats(ctx)
	if v, ok := s.Track("quiet", "video"); ok && v.FramesDecoded > 30 {
		t.Errorf("last N = 0: the viewer decoded %d frames", v.FramesDecoded)
	}
}
