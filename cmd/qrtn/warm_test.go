package main

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

// TestProbeNamingItsRoomWarmsIt: a client probing node b names the room
// it may join (GET /api/ping?room=R). b mirrors that room's video from
// node a, so it asks a for a key frame at once (trunk/warm.go): a's
// publisher gets a key frame request and b's watcher a new key frame,
// although nobody joined. A probe naming a room b does not have does
// nothing, and answers as usual.
func TestProbeNamingItsRoomWarmsIt(t *testing.T) {
	spec := networkSpec{
		Nodes:  []nodeSpec{{"a-1", "eu", "access"}, {"b-1", "us", "access"}},
		Trunks: [][2]string{{"a-1", "b-1"}},
		Link:   netsim.LinkConfig{Delay: 2 * time.Millisecond},
	}
	net, err := startNetwork(context.Background(), spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	a, b := net.Node("a-1"), net.Node("b-1")
	watcher := dialClient(t, b, signaling.Grant{Identity: "w", Room: "wr", Subscribe: true}, &sfutest.Options{Subscribe: true})
	dialClient(t, a, signaling.Grant{Identity: "x", Room: "wr", Publish: true}, &sfutest.Options{Layers: []string{""}, FPS: 15})
	keyframes := func() int {
		n := 0
		for _, st := range watcher.pion.Received() {
			n += st.Keyframes
		}
		return n
	}
	// On failure, where the key frame or its request got lost.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("a sfu %+v\nb sfu %+v", a.SFU().Stats(), b.SFU().Stats())
			for _, n := range []*node.Node{a, b} {
				st := n.Trunk().Status()
				t.Logf("%s trunk keyframe requests %d flows %+v", st.Node.Name, st.Keyframes, st.Flows)
			}
			t.Logf("w received %+v", watcher.pion.Received())
		}
	})
	waitUntil(t, 20*time.Second, "w decodes x's video", func() bool { return keyframes() > 0 })
	// Quiet: no key frame request at a for a while.
	plis := a.SFU().Stats().PLIs
	for quiet := time.Now(); time.Since(quiet) < time.Second; {
		time.Sleep(50 * time.Millisecond)
		if p := a.SFU().Stats().PLIs; p != plis {
			plis, quiet = p, time.Now()
		}
	}
	kf := keyframes()
	ping := func(room string) {
		t.Helper()
		r, err := http.Get(b.URL() + "api/ping?room=" + room)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Fatalf("ping: %s", r.Status)
		}
	}
	ping("elsewhere")
	ping("wr")
	waitUntil(t, 10*time.Second, "a key frame request at a", func() bool { return a.SFU().Stats().PLIs > plis })
	waitUntil(t, 10*time.Second, "a new key frame at w", func() bool { return keyframes() > kf })
}

func waitUntil(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !f(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
	}
}
