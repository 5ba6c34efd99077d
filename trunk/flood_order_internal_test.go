package trunk

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// TestFlowDescribedLater: a subscription reaches a forwarding node before
// the room record. With hints (Subscribe.Mode, Kind) the flow is the live
// video it is from the start; without (a node that predates them) it is a
// meeting's until the record comes, and then it is described again (it
// stayed a meeting's for good before), its streams to be reopened.
func TestFlowDescribedLater(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	now := time.Unix(1000, 0)
	c, err := NewCore(now, Config{Name: "f", Role: route.Forwarding, Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{info: peerInfo{Name: "b"}}
	p.reset()
	p.up = true
	c.peers = append(c.peers, p)
	c.byName["b"] = p
	hinted := TrackRef{Origin: "a", Room: "show", ID: "host-v"}
	bare := TrackRef{Origin: "a", Room: "show", ID: "host-a"}
	p.recvSubs[hinted] = Subscribe{Track: hinted, Layers: 1, Mode: "live", Kind: "video"}
	p.recvSubs[bare] = Subscribe{Track: bare, Layers: 1}
	check := func(when string, ref TrackRef, mode route.Mode, kind string, by told) {
		t.Helper()
		f := c.flows.get(flowKey{ref, 0})
		if f == nil || f.mode != mode || f.kind != kind || f.told != by {
			t.Fatalf("%s: flow of %s is %+v, want %s %q told %d", when, ref.ID, f, mode, kind, by)
		}
	}
	_, _, retold := c.flows.apply(now, c.demand(), c.describe)
	check("before the record", hinted, route.Live, "video", toldByHint)
	check("before the record", bare, route.Meeting, "", toldNothing)
	if len(retold) != 0 {
		t.Fatalf("new flows reported as changed: %d", len(retold))
	}
	c.rooms.update(now, RoomState{Origin: "a", Seq: 1, Room: "show", Mode: "live",
		Participants: []ParticipantState{{ID: "host", Tracks: []TrackState{{ID: "host-v", Kind: "video"}, {ID: "host-a", Kind: "audio"}}}}})
	_, _, retold = c.flows.apply(now, c.demand(), c.describe)
	check("after the record", hinted, route.Live, "video", toldByRecord)
	check("after the record", bare, route.Live, "audio", toldByRecord)
	if len(retold) != 1 || retold[0].key.track != bare {
		t.Fatalf("flows whose mode or kind changed: %d, want the bare one", len(retold))
	}
	if m := c.flowMode(bare); m != route.Live {
		t.Fatalf("flowMode %s", m)
	}
}
