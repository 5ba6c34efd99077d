package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserSubscriptionAndBackup runs selective subscription and the
// backup codec in real Chromium across a trunk (a in eu, b in us, 20 ms).
// On a, ann publishes AV1 (with its VP8 backup) and bob H.264 (with his).
// On b, cat opens the page with &subscribe=ann&recv=vp8: she subscribes to
// ann only and decodes only VP8. She must decode ann's camera as VP8; the
// AV1 primary and all of bob must never cross the trunk (node b's mirrors
// of them received no packet). Then she subscribes to bob and decodes his
// VP8 backup, and unsubscribes from ann, whose mirrored tracks on b are
// then paused.
func TestBrowserSubscriptionAndBackup(t *testing.T) {
	browsertest.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := startTwoRegions(t, ctx)
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	const q = "&room=s&mode=meeting&autojoin=1&video=640x360@15"
	ann := br.OpenT(t, net.Node("a").URL()+"?name=ann&node=a&role=host&codec=av1"+q)
	br.OpenT(t, net.Node("a").URL()+"?name=bob&node=a&role=host&codec=h264"+q)
	cat := br.OpenT(t, net.Node("b").URL()+"?name=cat&node=b&role=viewer&subscribe=ann&recv=vp8"+q)

	s, err := cat.WaitStats(ctx, 60*time.Second, "ann's camera as VP8", func(s browsertest.Stats) bool {
		v, ok := s.Track("ann", "video")
		return ok && v.Codec == "VP8" && v.FramesDecoded > 20 && v.FrameWidth > 0 && s.Decoding("ann", 20, 2000)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cat: %s", s)
	if _, ok := s.Track("bob", "video"); ok {
		t.Errorf("cat receives bob, to whom she did not subscribe: %s", s)
	}
	ps, err := ann.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codecs := map[string]bool{}
	for _, o := range ps.Publishing {
		if o.Kind == "video" {
			codecs[o.Codec] = true
		}
	}
	if !codecs["video/AV1"] || !codecs["video/VP8"] {
		t.Errorf("ann does not send AV1 with a VP8 backup: %v", codecs)
	}
	// Node b mirrors ann and bob; of them only ann's VP8 and audio crossed.
	checks := []struct {
		who, codec string
		crossed    bool
	}{{"ann", "video/AV1", false}, {"ann", "video/VP8", true}, {"ann", "audio/", true}, {"bob", "video/", false}, {"bob", "audio/", false}}
	var mirrors map[string][]sfu.TrackSnapshot
	if err := browsertest.Poll(ctx, 20*time.Second, 250*time.Millisecond, func(context.Context) (bool, string, error) {
		mirrors = mirrored(net.Node("b"), "s")
		for _, m := range checks {
			if _, ok := findTrack(mirrors[m.who], m.codec); !ok {
				return false, fmt.Sprintf("no mirror of %s's %s track: %+v", m.who, m.codec, mirrors), nil
			}
		}
		return true, "", nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, m := range checks {
		tr, _ := findTrack(mirrors[m.who], m.codec)
		if got := packets(tr) > 0; got != m.crossed {
			t.Errorf("%s's %s track: crossed the trunk %v, want %v (%d packets on b)", m.who, m.codec, got, m.crossed, packets(tr))
		}
	}

	// Subscribing to bob brings him, unsubscribing from ann takes her away
	// and stops her media on the trunk.
	if err := cat.Eval(ctx, `window.qrtn.subscribe('bob')`, nil); err != nil {
		t.Fatal(err)
	}
	if s, err := cat.WaitStats(ctx, 45*time.Second, "bob's H.264 camera as VP8 after subscribing", func(s browsertest.Stats) bool {
		v, ok := s.Track("bob", "video")
		return ok && v.Codec == "VP8" && s.Decoding("bob", 20, 2000)
	}); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("cat: %s", s)
	}
	if err := cat.Eval(ctx, `window.qrtn.subscribe('ann', false)`, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.WaitStats(ctx, 30*time.Second, "ann gone after unsubscribing", func(s browsertest.Stats) bool {
		_, v := s.Track("ann", "video")
		_, a := s.Track("ann", "audio")
		return !v && !a
	}); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Poll(ctx, 30*time.Second, 500*time.Millisecond, func(context.Context) (bool, string, error) {
		var note []string
		all := true
		for _, tr := range mirrored(net.Node("b"), "s")["ann"] {
			for _, l := range tr.Layers {
				all = all && l.Paused
			}
			note = append(note, fmt.Sprintf("%s %+v", tr.Codec, tr.Layers))
		}
		return all, strings.Join(note, "; "), nil
	}); err != nil {
		t.Fatalf("ann's tracks on b are still carried after cat unsubscribed: %v", err)
	}
}

// mirrored lists, by display name, the tracks of the remote participants
// that node n mirrors in a room.
func mirrored(n *node.Node, room string) map[string][]sfu.TrackSnapshot {
	out := map[string][]sfu.TrackSnapshot{}
	r := n.SFU().Room(room)
	for _, rs := range n.SFU().Snapshot() {
		if rs.Name != room {
			continue
		}
		for _, p := range rs.Participants {
			if r != nil && r.Participant(p.ID) != nil && r.Participant(p.ID).Remote() {
				out[p.Name] = p.Tracks
			}
		}
	}
	return out
}

// findTrack finds a track whose codec starts with prefix.
func findTrack(tracks []sfu.TrackSnapshot, prefix string) (sfu.TrackSnapshot, bool) {
	for _, tr := range tracks {
		if strings.HasPrefix(strings.ToLower(tr.Codec), strings.ToLower(prefix)) {
			return tr, true
		}
	}
	return sfu.TrackSnapshot{}, false
}

func packets(tr sfu.TrackSnapshot) uint64 {
	var n uint64
	for _, l := range tr.Layers {
		n += l.Packets
	}
	return n
}
