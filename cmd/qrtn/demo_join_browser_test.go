package main

import (
	"context"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowsersScheduled: real Chromium tabs open one entry URL (on any
// node) of a demo network with access nodes in eu, us and ap, and each is
// placed by the scheduler: Ann and Bob's hints put them in us and ap; Cat,
// who opens a different node's URL with Ann's region, lands on Ann's node.
// Each tab probes one node per region first (alike on loopback, so the
// hints decide). All three see and hear each other across the trunks, and
// each page says where it joined and why.
func TestBrowsersScheduled(t *testing.T) {
	browsertest.Exclusive(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := threeRegions(t, ctx)
	br := browsertest.StartT(t, browsertest.Options{Logf: t.Logf})
	const media = "&autojoin=1&video=320x240@15"
	entry, other := net.Node("eu-1").URL(), net.Node("ap-1").URL()
	tabs := []struct {
		name, url, want string
		page            *browsertest.Page
	}{
		{name: "ann", url: entry + "?room=s&name=ann&region=us" + media, want: "us-1"},
		{name: "bob", url: entry + "?room=s&name=bob&region=ap" + media, want: "ap-1"},
		{name: "cat", url: other + "?room=s&name=cat&region=us" + media, want: "us-1"},
	}
	for i := range tabs {
		tabs[i].page = br.OpenT(t, tabs[i].url)
		// One after the other: Cat must find Ann's room where Ann is.
		s, err := tabs[i].page.WaitStats(ctx, 30*time.Second, tabs[i].name+" joined", func(s browsertest.Stats) bool {
			return s.Joined && s.Node != nil || s.Error != ""
		})
		if err != nil || s.Error != "" {
			t.Fatalf("%s: %v %s", tabs[i].name, err, s)
		}
		if s.Node.Name != tabs[i].want {
			t.Fatalf("%s joined %s (%s), want %s", tabs[i].name, s.Node.Name, s.Node.Region, tabs[i].want)
		}
		var pl struct {
			Reasons []string           `json:"reasons"`
			RTTs    map[string]float64 `json:"rtts"`
		}
		if err := tabs[i].page.Eval(ctx, `window.qrtn.stats().then(s => s.placement)`, &pl); err != nil {
			t.Fatal(err)
		}
		var status string
		_ = tabs[i].page.Eval(ctx, `document.querySelector('#status').textContent`, &status)
		t.Logf("%s: %s; probes %v", tabs[i].name, status, pl.RTTs)
		if len(pl.RTTs) != 3 || len(pl.Reasons) == 0 {
			t.Errorf("%s: probes %v (want one per region), reasons %v", tabs[i].name, pl.RTTs, pl.Reasons)
		}
	}
	for _, tab := range tabs {
		var peers []string
		for _, o := range tabs {
			if o.name != tab.name {
				peers = append(peers, o.name)
			}
		}
		if _, err := tab.page.WaitStats(ctx, 45*time.Second, tab.name+" decodes "+peers[0]+" and "+peers[1], func(s browsertest.Stats) bool {
			return s.Decoding(peers[0], 20, 1000) && s.Decoding(peers[1], 20, 1000)
		}); err != nil {
			for _, x := range tabs {
				s, _ := x.page.Stats(ctx)
				t.Logf("%s: %s", x.name, s)
			}
			t.Fatal(err)
		}
	}
}
