package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestFeedbackKeepsLargeLayer: many subscribers that send transport-cc
// feedback, as browsers do, on a clean loopback, keep the large layer.
// With pion's GCC, scheduling jitter among this many clients on a busy
// machine read as queueing delay and moved subscribers down to small.
func TestFeedbackKeepsLargeLayer(t *testing.T) {
	const subscribers = 16
	s := newTestSFU(t, func(c *Config) { c.InitialBitrate = 3_000_000 })
	t.Cleanup(func() { _ = s.Close() }) // after the peers' own cleanups
	join(t, s, "r1", "pub", sfutest.Options{Layers: []string{"s", "l"}})
	subs := make([]*peer, subscribers)
	for i := range subs {
		subs[i] = join(t, s, "r1", fmt.Sprintf("sub%d", i), sfutest.Options{Subscribe: true})
		subs[i].p.Prefer("pub", QualityLarge) // a main view each
	}
	for _, sub := range subs {
		sub.waitRecv("the large layer", func(st map[string]sfutest.TrackStats) bool {
			v, ok := trackOf(st, "video")
			return ok && v.Layers[1] > 30
		})
	}
	for _, sub := range subs {
		sub.clearEvents()
	}
	time.Sleep(4 * time.Second) // feedback flows; the estimates settle
	for _, sub := range subs {
		sub.mu.Lock()
		for _, e := range sub.events {
			if l, ok := e.(LayerChanged); ok && l.Layer != "large" {
				t.Errorf("%s was moved to %s (%s)", sub.p.ID(), l.Layer, l.Reason)
			}
		}
		sub.mu.Unlock()
	}
	for _, p := range s.Snapshot()[0].Participants {
		for _, v := range p.Video {
			if v.Decided != 1 {
				t.Errorf("%s: layer %d decided (estimate %d, overuse %v, loss %.3f)", p.ID, v.Decided, p.Estimate, p.Overuse, p.Loss)
			}
		}
	}
}
