package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserSVCFrameRate: a viewer of a VP9 SVC publisher caps the frame
// rate it receives (window.qrtn.prefer(participant, 'large', {fps})): the
// node forwards the lower temporal layers only, so the viewer decodes
// about half, then a quarter of the frames at the same resolution, with
// no freeze, and the full rate again once the cap is taken off.
func TestBrowserSVCFrameRate(t *testing.T) { browserFrameRate(t, "vp9", "") }

// TestBrowserAV1SVCFrameRate is the same with AV1 SVC (temporal layers
// from the dependency descriptor). Off unless QRTN_TEST_AV1_SVC=1, to keep
// the suite short: AV1 encoding takes most of a 2-core machine, and
// TestBrowserAV1SVCAcrossTrunk (on by default) already covers AV1 SVC.
func TestBrowserAV1SVCFrameRate(t *testing.T) {
	if os.Getenv("QRTN_TEST_AV1_SVC") != "1" {
		t.Skip("set QRTN_TEST_AV1_SVC=1 to run the AV1 SVC frame-rate browser test")
	}
	browserFrameRate(t, "av1", "&svc=1")
}

func browserFrameRate(t *testing.T, codec, extra string) {
	b := browsertest.StartT(t, browsertest.Options{})
	base := startNode(t)
	room := "fps-" + codec
	b.OpenT(t, pageURL(base, room, "pub", "meeting", "host")+"&codec="+codec+extra)
	viewer := b.OpenT(t, pageURL(base, room, "viewer", "meeting", "viewer"))
	waitDecoding(t, viewer, []string{"pub"}, 10)
	ctx := context.Background()
	if err := viewer.Prefer(ctx, "pub", "large"); err != nil {
		t.Fatal(err)
	}
	start, err := viewer.WaitStats(ctx, 45*time.Second, "the large layer", func(s browsertest.Stats) bool {
		v, ok := s.Track("pub", "video")
		return ok && v.Layer == "large" && v.FrameWidth >= 640
	})
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := start.Track("pub", "video")
	if v0.Codec != strings.ToUpper(codec) {
		t.Fatalf("the viewer decodes %s, want %s", v0.Codec, strings.ToUpper(codec))
	}
	// A starved CPU can freeze a decoder at any moment (the page counted
	// one before any frame-rate change on a loaded machine); a frame-rate
	// step that freezes does so every time. So a cycle with a problem is
	// tried again, and the test fails only if every try had one.
	time.Sleep(2 * time.Second) // the decoder's rate settles on large
	var reports []string
	for range 3 {
		problems, report := frameRateCycle(ctx, t, viewer, v0)
		t.Log(report)
		if len(problems) == 0 {
			return
		}
		reports = append(reports, report+"\n  "+strings.Join(problems, "\n  "))
	}
	t.Errorf("every frame-rate cycle had a problem:\n%s", strings.Join(reports, "\n"))
}

// frameRateCycle measures the full rate, caps it to 1/2 and 1/4 and takes
// the cap off, and says what was wrong.
func frameRateCycle(ctx context.Context, t *testing.T, viewer *browsertest.Page, v0 browsertest.Inbound) (problems []string, report string) {
	before, _ := viewer.Stats(ctx)
	vb, _ := before.Track("pub", "video")
	full := watch(ctx, t, viewer)
	parts := []string{fmt.Sprintf("full %.1f fps", full.FPS)}
	for _, step := range []struct {
		name   string
		fps    float64 // the cap asked
		lo, hi float64 // the share of the full rate that counts as right
	}{
		{"half", full.FPS / 2, 0.3, 0.7},
		{"quarter", full.FPS / 4, 0.12, 0.4},
		{"uncapped", 0, 0.75, 1.5},
	} {
		asked := time.Now()
		if err := viewer.PreferFPS(ctx, "pub", "large", step.fps); err != nil {
			t.Fatal(err)
		}
		if step.fps == 0 {
			parts = append(parts, fmt.Sprintf("up to full rate in %v", rateUp(ctx, t, viewer, 0.6*full.FPS)))
		}
		time.Sleep(2*time.Second - time.Since(asked)) // the selector's next run, and the decoder's rate settling
		m := watch(ctx, t, viewer)
		ratio := m.FPS / full.FPS
		parts = append(parts, fmt.Sprintf("%s (cap %.1f): %.1f fps (%.2f of full), width %d", step.name, step.fps, m.FPS, ratio, m.MaxWidth))
		if ratio < step.lo || ratio > step.hi {
			problems = append(problems, fmt.Sprintf("%s: %.1f fps is %.2f of the full %.1f, want %.2f to %.2f", step.name, m.FPS, ratio, full.FPS, step.lo, step.hi))
		}
		if m.MinWidth != v0.FrameWidth || m.MaxWidth != v0.FrameWidth {
			problems = append(problems, fmt.Sprintf("%s: the width changed: %d–%d, was %d", step.name, m.MinWidth, m.MaxWidth, v0.FrameWidth))
		}
	}
	end, _ := viewer.Stats(ctx)
	ve, _ := end.Track("pub", "video")
	parts = append(parts, fmt.Sprintf("freezeCount %d → %d", vb.FreezeCount, ve.FreezeCount))
	if ve.FreezeCount > vb.FreezeCount {
		problems = append(problems, fmt.Sprintf("the video froze %d times while the frame rate changed", ve.FreezeCount-vb.FreezeCount))
	}
	return problems, strings.Join(parts, "; ")
}

// rateUp reports how long it takes until the page decodes pub's video at
// fps or more between two polls (at most 2 s; a figure for the log, not a
// check: to within the polling interval).
func rateUp(ctx context.Context, t *testing.T, p *browsertest.Page, fps float64) time.Duration {
	t.Helper()
	start := time.Now()
	prev, err := p.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for time.Since(start) < 2*time.Second {
		time.Sleep(250 * time.Millisecond)
		s, err := p.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v0, _ := prev.Track("pub", "video")
		v1, _ := s.Track("pub", "video")
		if float64(v1.FramesDecoded-v0.FramesDecoded)/s.At.Sub(prev.At).Seconds() >= fps {
			return s.At.Sub(start).Round(10 * time.Millisecond)
		}
		prev = s
	}
	return time.Since(start).Round(10 * time.Millisecond)
}

// watch is what the page decodes of pub's video over 3 s.
func watch(ctx context.Context, t *testing.T, p *browsertest.Page) browsertest.Watched {
	t.Helper()
	w, err := p.Watch(ctx, "pub", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
