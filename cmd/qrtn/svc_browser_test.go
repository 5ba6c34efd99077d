package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserSVCAcrossTrunk publishes VP9 SVC (one stream of spatial
// layers, &codec=vp9&svc=1) on access node a, and switches a viewer on a
// and a viewer on b (across the trunk) between the small and the large
// spatial layer: the decoded size follows, without a freeze. While the far
// viewer watches the small layer, b's mirror of the track has its larger
// layers paused: the trunk carries only the spatial layers b wants.
func TestBrowserSVCAcrossTrunk(t *testing.T) { browserSVCAcrossTrunk(t, "VP9") }

// TestBrowserAV1SVCAcrossTrunk is the same with AV1 SVC (&codec=av1&svc=1,
// L3T3_KEY): the nodes read its layers from the dependency descriptor
// extension. It was flaky (the far viewer got no video in 1 run of 2: the
// origin's trunk stream of the wanted layer waited for a key frame nobody
// asked for again; svc_sink.go) and ran only on demand until that was
// fixed.
func TestBrowserAV1SVCAcrossTrunk(t *testing.T) { browserSVCAcrossTrunk(t, "AV1") }

func browserSVCAcrossTrunk(t *testing.T, codec string) {
	browsertest.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // after the failure dump, which needs the nodes
	logs := newLogRing()
	net := startTwoRegionsLog(t, ctx, logs.logger())
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	const q = "&mode=meeting&autojoin=1&video=640x360@20"
	// Pinned (&node=): the scheduler would otherwise be free to place the
	// far viewer on a, where the room already is.
	pub := br.OpenT(t, net.Node("a").URL()+"?room=svc&name=pub&role=host&node=a&svc=1&codec="+strings.ToLower(codec)+q)
	near := br.OpenT(t, net.Node("a").URL()+"?room=svc&name=near&role=viewer&node=a"+q)
	far := br.OpenT(t, net.Node("b").URL()+"?room=svc&name=far&role=viewer&node=b"+q)
	dumpOnFailure(t, net, "svc", logs, map[string]*browsertest.Page{"pub": pub, "near": near, "far": far})

	for _, p := range []*browsertest.Page{far, near} {
		if _, err := p.WaitStats(ctx, 60*time.Second, "pub's video", func(s browsertest.Stats) bool { return s.Decoding("pub", 10, 2000) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []struct {
		name string
		p    *browsertest.Page
	}{{"far", far}, {"near", near}} {
		t.Run(v.name, func(t *testing.T) { svcSwitchCycle(ctx, t, v.p, v.name == "far", net, codec) })
	}

	t.Run("far frame rate", func(t *testing.T) { farFrameRate(ctx, t, far) })

	// Nobody watches: dynacast pauses the one SVC encoding at the
	// publisher (nothing arrives at a); watched again, it resumes.
	t.Run("dynacast", func(t *testing.T) {
		for _, p := range []*browsertest.Page{near, far} {
			if err := p.Prefer(ctx, "pub", "off"); err != nil {
				t.Fatal(err)
			}
		}
		originSVC(ctx, t, net, codec, "paused, nothing arriving", func(l sfu.LayerSnapshot) bool { return l.Paused && !l.Arriving })
		before, _ := far.Stats(ctx)
		v0, _ := before.Track("pub", "video")
		if err := far.Prefer(ctx, "pub", "small"); err != nil {
			t.Fatal(err)
		}
		if _, err := far.WaitStats(ctx, 45*time.Second, "video again", func(s browsertest.Stats) bool {
			v, ok := s.Track("pub", "video")
			return ok && v.FramesDecoded > v0.FramesDecoded+20
		}); err != nil {
			t.Fatal(err)
		}
		originSVC(ctx, t, net, codec, "resumed", func(l sfu.LayerSnapshot) bool { return !l.Paused && l.Arriving })
	})
}

// originSVC waits until node a's SVC track of pub (VP9 or AV1) is in the
// state ok says.
func originSVC(ctx context.Context, t *testing.T, net *network, codec, what string, ok func(sfu.LayerSnapshot) bool) {
	t.Helper()
	if err := browsertest.Poll(ctx, 30*time.Second, 500*time.Millisecond, func(context.Context) (bool, string, error) {
		for _, rs := range net.Node("a").SFU().Snapshot() {
			for _, ps := range rs.Participants {
				for _, tr := range ps.Tracks {
					if tr.Kind == "video" && strings.EqualFold(tr.Codec, "video/"+codec) && len(tr.Layers) == 1 {
						return ok(tr.Layers[0]), fmt.Sprintf("%+v", tr.Layers[0]), nil
					}
				}
			}
		}
		return false, "no " + codec + " track at a", nil
	}); err != nil {
		t.Fatalf("pub's SVC track at a not %s: %v", what, err)
	}
}

// svcSwitchCycle switches the page's view of pub small → large → small and
// checks sizes and freezes; far also checks the trunk's layers.
func svcSwitchCycle(ctx context.Context, t *testing.T, p *browsertest.Page, far bool, net *network, codec string) {
	switchTo := func(layer string, cond func(v browsertest.Inbound) bool) browsertest.Inbound {
		t.Helper()
		if err := p.Prefer(ctx, "pub", layer); err != nil {
			t.Fatal(err)
		}
		s, err := p.WaitStats(ctx, 45*time.Second, "the "+layer+" layer", func(s browsertest.Stats) bool {
			v, ok := s.Track("pub", "video")
			return ok && v.Codec == codec && cond(v)
		})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := s.Track("pub", "video")
		return v
	}
	cycle := func() (froze bool, report string) {
		small := switchTo("small", func(v browsertest.Inbound) bool { return v.Layer == "small" && v.FrameWidth > 0 && v.FrameWidth <= 320 })
		before := switchTo("small", func(v browsertest.Inbound) bool { return v.FramesDecoded > small.FramesDecoded+25 })
		if far {
			mirrorPaused(ctx, t, net, codec, []string{"m", "l"})
		}
		large := switchTo("large", func(v browsertest.Inbound) bool { return v.Layer == "large" && v.FrameWidth >= 2*before.FrameWidth })
		back := switchTo("small", func(v browsertest.Inbound) bool {
			return v.Layer == "small" && v.FrameWidth > 0 && v.FrameWidth <= large.FrameWidth/2
		})
		after := switchTo("small", func(v browsertest.Inbound) bool { return v.FramesDecoded > back.FramesDecoded+25 })
		report = fmt.Sprintf("small %dx%d → large %dx%d → small %dx%d; freezeCount %d → %d, totalFreezesDuration %.3fs → %.3fs",
			before.FrameWidth, before.FrameHeight, large.FrameWidth, large.FrameHeight, back.FrameWidth, back.FrameHeight,
			before.FreezeCount, after.FreezeCount, before.TotalFreezesDuration, after.TotalFreezesDuration)
		return after.FreezeCount > before.FreezeCount, report
	}
	// A starved CPU can freeze a decoder at any moment; a switch that
	// freezes does so every time. So a cycle that froze is tried again.
	var reports []string
	for range 3 {
		froze, report := cycle()
		t.Log(report)
		if !froze {
			return
		}
		reports = append(reports, report)
	}
	t.Errorf("every SVC layer switch cycle froze the video:\n%s", strings.Join(reports, "\n"))
}

// mirrorPaused waits until node b's mirror of pub's SVC video (codec: VP9
// or AV1; not its VP8 backup, whose layers have the same names) has the
// named layers paused by dynacast: b asks a (over the trunk) for none of
// them.
func mirrorPaused(ctx context.Context, t *testing.T, net *network, codec string, rids []string) {
	t.Helper()
	if err := browsertest.Poll(ctx, 30*time.Second, 500*time.Millisecond, func(context.Context) (bool, string, error) {
		var state []string
		paused := 0
		for _, rs := range net.Node("b").SFU().Snapshot() {
			for _, ps := range rs.Participants {
				for _, tr := range ps.Tracks {
					if tr.Kind != "video" || !strings.EqualFold(tr.Codec, "video/"+codec) {
						continue
					}
					for _, l := range tr.Layers {
						state = append(state, fmt.Sprintf("%s paused=%v %d bit/s", l.RID, l.Paused, l.Bitrate))
						for _, r := range rids {
							if l.RID == r && l.Paused {
								paused++
							}
						}
					}
				}
			}
		}
		return paused == len(rids), strings.Join(state, ", "), nil
	}); err != nil {
		t.Fatalf("b still takes the larger spatial layers over the trunk: %v", err)
	}
}

// farFrameRate: the far viewer caps the frame rate to half; node b, which
// gets pub's spatial layers as streams over the trunk, forwards their
// lower temporal layers only, at the same size.
func farFrameRate(ctx context.Context, t *testing.T, far *browsertest.Page) {
	if err := far.Prefer(ctx, "pub", "large"); err != nil {
		t.Fatal(err)
	}
	if _, err := far.WaitStats(ctx, 45*time.Second, "the large layer", func(s browsertest.Stats) bool {
		v, ok := s.Track("pub", "video")
		return ok && v.Layer == "large" && v.FrameWidth >= 640
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the decoder's rate settles
	full, err := far.Watch(ctx, "pub", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := far.PreferFPS(ctx, "pub", "large", full.FPS/2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	half, err := far.Watch(ctx, "pub", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("far viewer: %.1f fps, capped to %.1f: %.1f fps, width %d–%d", full.FPS, full.FPS/2, half.FPS, half.MinWidth, half.MaxWidth)
	if r := half.FPS / full.FPS; r < 0.3 || r > 0.7 {
		t.Errorf("capped to half: %.1f fps of %.1f (%.2f), want 0.3 to 0.7", half.FPS, full.FPS, r)
	}
	if half.MinWidth != full.MaxWidth {
		t.Errorf("the width changed: %d–%d, was %d", half.MinWidth, half.MaxWidth, full.MaxWidth)
	}
	if err := far.PreferFPS(ctx, "pub", "large", 0); err != nil {
		t.Fatal(err)
	}
}
