package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserCodecs publishes from the demo page with each codec of
// &codec=, in real Chromium, and checks that a viewer decodes it and that
// stats() names it, as simulcast (the viewer's small preference brings the
// small layer). One publisher at a time keeps two cores able to
// encode.
func TestBrowserCodecs(t *testing.T) {
	b := browsertest.StartT(t, browsertest.Options{})
	base := startNode(t)
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
		ps, _ := pub.Stats(ctx)
		for _, o := range ps.Publishing {
			if o.Kind == "video" && o.Codec != "video/"+c.codec {
				t.Errorf("%s: the publisher sends layer %s as %s", c.param, o.RID, o.Codec)
			}
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
}
