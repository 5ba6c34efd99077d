package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserPageLayout looks at the demo page as a person would, at
// 1280×800 and on a phone (390×844): the pre-join screen asks no role for
// a meeting and fits; in the room the tiles fill the window, a camera that
// is off shows a name card instead of a frame, a muted microphone is an
// SVG icon (no emoji font needed), the controls are on screen, and nothing
// is wider than the window. Screenshots go to $QRTN_SCREENSHOTS (default
// a directory under the system temp dir) and their paths to the test log.
func TestBrowserPageLayout(t *testing.T) {
	b := browsertest.StartT(t, browsertest.Options{})
	base := startNode(t)
	ctx := context.Background()
	dir := os.Getenv("QRTN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "qrtn-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(p *browsertest.Page, name string) {
		png, err := p.Screenshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".png")
		if err := os.WriteFile(f, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", f)
	}

	pre := b.OpenT(t, base+"/?room=lay&mode=meeting")
	if err := pre.SetViewport(ctx, 390, 844); err != nil {
		t.Fatal(err)
	}
	var form struct {
		Visible, RoleHidden, Fits bool
	}
	if err := browsertest.Poll(ctx, 20*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		err := pre.Eval(ctx, `(() => { const f = document.querySelector('#join').getBoundingClientRect();
			return { visible: !document.querySelector('#prejoin').hidden && f.width > 0,
				roleHidden: document.querySelector('#role-field').hidden,
				fits: document.documentElement.scrollWidth <= innerWidth && f.right <= innerWidth }; })()`, &form)
		return form.Visible, "pre-join not shown", err
	}); err != nil {
		t.Fatal(err)
	}
	if !form.RoleHidden || !form.Fits {
		t.Errorf("pre-join at 390×844: %+v (want the role hidden in a meeting and the form within the window)", form)
	}
	time.Sleep(time.Second) // the camera preview starts
	shot(pre, "prejoin-390x844")
	pre.Close()

	alice := b.OpenT(t, pageURL(base, "lay", "alice", "meeting", "host"))
	bob := b.OpenT(t, pageURL(base, "lay", "bob", "meeting", "host"))
	waitDecoding(t, alice, []string{"bob"}, 10)
	waitDecoding(t, bob, []string{"alice"}, 10)
	if err := bob.Eval(ctx, `(window.qrtn.mute('video', true), window.qrtn.mute('audio', true))`, nil); err != nil {
		t.Fatal(err)
	}
	for _, vp := range []struct {
		w, h     int64
		minTileW float64
	}{{1280, 800, 500}, {390, 844, 300}} {
		if err := alice.SetViewport(ctx, vp.w, vp.h); err != nil {
			t.Fatal(err)
		}
		type rect struct{ X, Y, W, H float64 }
		var got struct {
			Tiles              []rect
			BobCard, BobMicSVG bool
			Emoji              bool
			Controls           rect
			ScrollW, InnerW    float64
			InnerH             float64
		}
		err := browsertest.Poll(ctx, 20*time.Second, 300*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			err := alice.Eval(ctx, `(() => {
				const r = (el) => { const b = el.getBoundingClientRect(); return { x: b.x, y: b.y, w: b.width, h: b.height }; };
				const tiles = [...document.querySelectorAll('.tile')].filter((t) => t.offsetParent).map(r);
				const bob = [...document.querySelectorAll('.tile')].find((t) => t.querySelector('.label').textContent === 'bob');
				return { tiles, bobCard: !!bob && bob.classList.contains('video-off') && getComputedStyle(bob.querySelector('.card')).display !== 'none',
					bobMicSVG: !!bob && bob.classList.contains('muted-audio') && !!bob.querySelector('.plate .mic svg'),
					emoji: /[\u{1F300}-\u{1FAFF}]/u.test(document.body.innerText),
					controls: r(document.querySelector('#controls')),
					scrollW: document.documentElement.scrollWidth, innerW: innerWidth, innerH: innerHeight };
			})()`, &got)
			wide := len(got.Tiles) == 2
			for _, r := range got.Tiles {
				wide = wide && r.W >= vp.minTileW
			}
			return err == nil && got.BobCard && got.BobMicSVG && wide, "", err
		})
		name := filepath.Base(filepath.Join(dir, "room"))
		shot(alice, name+"-"+itoa(vp.w)+"x"+itoa(vp.h))
		if err != nil {
			t.Fatalf("%dx%d: bob's camera-off card and muted-mic icon: %v (%+v)", vp.w, vp.h, err, got)
		}
		for _, r := range got.Tiles {
			if r.W < vp.minTileW || r.X < 0 || r.Y < 0 || r.X+r.W > got.InnerW+1 || r.Y+r.H > got.InnerH+1 {
				t.Errorf("%dx%d: a tile at %+v: want at least %.0f px wide, inside the window", vp.w, vp.h, r, vp.minTileW)
			}
		}
		if got.Emoji {
			t.Errorf("%dx%d: the page shows emoji", vp.w, vp.h)
		}
		if got.Controls.Y+got.Controls.H > got.InnerH+1 || got.Controls.H == 0 {
			t.Errorf("%dx%d: the controls at %+v are off screen", vp.w, vp.h, got.Controls)
		}
		if got.ScrollW > got.InnerW {
			t.Errorf("%dx%d: the page is %.0f px wide", vp.w, vp.h, got.ScrollW)
		}
	}
}

func itoa(v int64) string {
	b := []byte{}
	for v > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}
