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

// TestBrowserSVCBackup: a camera published as VP9 SVC (the page's VP9
// default, one L3T3_KEY stream) also goes out as its VP8 backup. Across a
// trunk (a in eu, b in us), a viewer on b that decodes only VP8
// (&recv=vp8) gets the camera as VP8, and a viewer on a gets the VP9 SVC
// primary; only the backup crosses the trunk (b's mirror of the VP9 track
// received nothing). Nothing is transcoded: each codec is the publisher's.
// Then pub shares a screen (a canvas, VP9 simulcast): it too has a VP8
// backup, which the far viewer decodes, and which stops with the share.
// Last, a viewer on b that restricts its receivers to VP8 the same way but
// does not declare it (&declare=0, as a client other than qrtn.js) gets
// the VP8 backup too: the node reads what it decodes from its answer.
func TestBrowserSVCBackup(t *testing.T) {
	browsertest.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // after the failure dump, which needs the nodes
	logs := newLogRing()
	net := startTwoRegionsLog(t, ctx, logs.logger())
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	const q = "&room=bk&mode=meeting&autojoin=1&video=640x360@15"
	pub := br.OpenT(t, net.Node("a").URL()+"?name=pub&node=a&role=host&codec=vp9"+q)
	near := br.OpenT(t, net.Node("a").URL()+"?name=near&node=a&role=viewer"+q)
	far := br.OpenT(t, net.Node("b").URL()+"?name=far&node=b&role=viewer&recv=vp8"+q)
	dumpOnFailure(t, net, "bk", logs, map[string]*browsertest.Page{"pub": pub, "near": near, "far": far})

	for _, v := range []struct {
		name, codec string
		p           *browsertest.Page
	}{{"far", "VP8", far}, {"near", "VP9", near}} {
		s, err := v.p.WaitStats(ctx, 60*time.Second, "pub's camera as "+v.codec, func(s browsertest.Stats) bool {
			in, ok := s.Track("pub", "video")
			return ok && in.Codec == v.codec && in.FrameWidth > 0 && s.Decoding("pub", 20, 2000)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", v.name, s)
	}
	ps, err := pub.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codecs := map[string]bool{}
	for _, o := range ps.Publishing {
		if o.Kind == "video" {
			codecs[o.Codec] = true
		}
	}
	if !codecs["video/VP9"] || !codecs["video/VP8"] {
		t.Errorf("pub does not send VP9 with a VP8 backup: %v", codecs)
	}
	// At a the primary is SVC: one stream, whose spatial layers the
	// near viewer chooses among.
	originSVC(ctx, t, net, "VP9", "arriving", func(l sfu.LayerSnapshot) bool { return l.Arriving })
	// On b only the backup crossed the trunk.
	var mirrors map[string][]sfu.TrackSnapshot
	if err := browsertest.Poll(ctx, 20*time.Second, 250*time.Millisecond, func(context.Context) (bool, string, error) {
		mirrors = mirrored(net.Node("b"), "bk")
		for _, c := range []string{"video/VP9", "video/VP8"} {
			if _, ok := findTrack(mirrors["pub"], c); !ok {
				return false, fmt.Sprintf("no mirror of pub's %s track: %+v", c, mirrors), nil
			}
		}
		return true, "", nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		codec   string
		crossed bool
	}{{"video/VP9", false}, {"video/VP8", true}} {
		tr, _ := findTrack(mirrors["pub"], c.codec)
		if got := packets(tr) > 0; got != c.crossed {
			t.Errorf("pub's %s track crossed the trunk: %v, want %v (%d packets on b; layers %s)",
				c.codec, got, c.crossed, packets(tr), layersString(tr))
		}
	}

	t.Run("screen", func(t *testing.T) {
		if err := pub.Eval(ctx, `window.qrtn.shareScreen({fake: true})`, nil); err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct {
			name, codec string
			p           *browsertest.Page
		}{{"far", "VP8", far}, {"near", "VP9", near}} {
			s, err := v.p.WaitStats(ctx, 45*time.Second, "pub's screen as "+v.codec, func(s browsertest.Stats) bool {
				in, ok := s.Screen("pub")
				return ok && in.Codec == v.codec && in.FramesDecoded > 5 && in.FrameWidth >= 640
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", v.name, s)
		}
		if err := pub.Eval(ctx, `window.qrtn.stopScreen()`, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := far.WaitStats(ctx, 30*time.Second, "the screen share gone", func(s browsertest.Stats) bool {
			_, ok := s.Screen("pub")
			return !ok
		}); err != nil {
			t.Fatal(err)
		}
		// The backup's transceiver stopped with the primary's.
		if err := browsertest.Poll(ctx, 20*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			var senders int
			err := pub.Eval(ctx, `window.qrtn.session._pub.getTransceivers().filter((t) => t.sender.track && t.currentDirection !== 'stopped' && t.sender.track.kind === 'video').length`, &senders)
			return senders == 2, fmt.Sprintf("%d video transceivers sending", senders), err
		}); err != nil {
			t.Fatalf("after stopScreen, pub still sends more than its camera and its backup: %v", err)
		}
	})

	t.Run("undeclared", func(t *testing.T) {
		quiet := br.OpenT(t, net.Node("b").URL()+"?name=quiet&node=b&role=viewer&recv=vp8&declare=0"+q)
		s, err := quiet.WaitStats(ctx, 60*time.Second, "pub's camera as VP8, undeclared", func(s browsertest.Stats) bool {
			in, ok := s.Track("pub", "video")
			return ok && in.Codec == "VP8" && in.FrameWidth > 0 && s.Decoding("pub", 20, 2000)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("quiet: %s", s)
		var code string
		if err := quiet.Eval(ctx, `window.qrtn.session._lastErrorCode || ''`, &code); err != nil || code != "" {
			t.Errorf("quiet was sent an error %q (%v)", code, err)
		}
	})
}

// layersString describes a track's layers for a failure message.
func layersString(tr sfu.TrackSnapshot) string {
	var out []string
	for _, l := range tr.Layers {
		out = append(out, fmt.Sprintf("%s: %d packets, paused %v", l.RID, l.Packets, l.Paused))
	}
	return strings.Join(out, "; ")
}
