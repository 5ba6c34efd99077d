package trunk

import (
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// TestRejectedBounded: refusals of subscriptions this node never sent are
// ignored, and a refusal it did earn is forgotten once its hold passed, so
// a peer cannot grow the map without bound by refusing invented tracks.
func TestRejectedBounded(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	now := time.Unix(1000, 0)
	tr, err := NewCore(now, Config{Name: "x", Role: route.Forwarding, Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{info: peerInfo{Name: "y"}}
	p.reset()
	p.up = true
	tr.peers = append(tr.peers, p)
	tr.byName["y"] = p
	for i := range 10_000 {
		tr.receiveUnavailable(now, p, Unavailable{Track: TrackRef{Origin: "z", Room: "r", ID: fmt.Sprint(i)}, Reason: "loop"})
	}
	if n := len(p.rejected); n != 0 {
		t.Fatalf("%d refusals of tracks never asked for are kept", n)
	}
	asked := TrackRef{Origin: "z", Room: "r", ID: "asked"}
	p.sentSubs[asked] = Subscribe{Track: asked, Layers: 1}
	tr.receiveUnavailable(now, p, Unavailable{Track: asked, Reason: "loop"})
	if _, ok := p.rejected[asked]; !ok || len(p.rejected) != 1 {
		t.Fatalf("refusal of a sent subscription not recorded: %v", p.rejected)
	}
	tr.syncSubscriptions(now.Add(rejectHold / 2))
	if len(p.rejected) != 1 {
		t.Fatal("refusal forgotten before its hold")
	}
	tr.syncSubscriptions(now.Add(rejectHold))
	if len(p.rejected) != 0 {
		t.Fatalf("refusal kept after its hold: %v", p.rejected)
	}
}
