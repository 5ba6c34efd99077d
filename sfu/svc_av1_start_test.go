package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestAV1SVCSinkAsksForKeyframe: a trunk's sink of an AV1 SVC track added
// just after a key frame went by (its own request dropped by the
// receiver's throttle: another subscriber asked moments before) asks
// again while it waits, every keyframeInterval, and stops asking once a
// key frame started it. It used to ask only when added, and the far
// node's viewer then got no video at all.
func TestAV1SVCSinkAsksForKeyframe(t *testing.T) {
	up := &countingUpstream{}
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3, Upstream: up,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	// A request "from another subscriber" an hour ahead of the wall clock,
	// so that AddSink's own request (at time.Now()) is throttled.
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now().Add(time.Hour)}
	r.requestKeyframe(0, a.now)
	a.unit(true, 0, 3) // the key frame that answered, before the sink
	s := &packetSink{}
	if _, err := r.AddSink(1, s); err != nil {
		t.Fatal(err)
	}
	if up.n.Load() != 1 {
		t.Fatalf("%d key frame requests before the sink waited, want 1 (AddSink's throttled)", up.n.Load())
	}
	for range 20 { // one second of delta frames
		a.now = a.now.Add(50 * time.Millisecond)
		a.unit(false, 2, 5)
	}
	if len(s.got) != 0 {
		t.Fatalf("the sink sent %d packets before a key frame", len(s.got))
	}
	if up.n.Load() < 3 {
		t.Fatalf("%d key frame requests in the second the sink waited, want 1 + 2 at least", up.n.Load())
	}
	a.now = a.now.Add(50 * time.Millisecond)
	a.unit(true, 0, 3)
	asked := up.n.Load()
	for range 20 {
		a.now = a.now.Add(50 * time.Millisecond)
		a.unit(false, 2, 5)
	}
	if len(s.got) != 4+20*2 { // the key frame's two frames, then S1's (no S0 frames in the KEY structure's S1 target)
		t.Fatalf("the sink sent %d packets after the key frame, want %d", len(s.got), 4+20*2)
	}
	if up.n.Load() != asked {
		t.Fatalf("%d key frame requests after the sink started", up.n.Load()-asked)
	}
}

// TestAV1ReplayKeepsDescriptor: a subscriber started from the cached key
// frame (replay.go) of an AV1 track with the dependency descriptor (the
// far node's mirror of an AV1 SVC track is one) gets the descriptor on
// the replayed packets too: without the structure the key frame carries,
// its decoder drops every later frame.
func TestAV1ReplayKeepsDescriptor(t *testing.T) {
	up := &countingUpstream{}
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3, Upstream: up,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
	if r.svc {
		t.Fatal("a two-stream AV1 track is taken as SVC")
	}
	d1, fb1 := bindAV1Down(t, r)
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Unix(1000, 0)}
	d1.setDecision(0, false, "", a.now)
	a.unit(true, 0) // key frame 0 of layer 0, with the structure
	a.unit(false, 2)
	if n := len(fb1.take()); n != 4 {
		t.Fatalf("first subscriber got %d packets, want 4", n)
	}
	d2, fb2 := bindAV1Down(t, r)
	d2.setDecision(0, false, "", a.now)
	a.unit(false, 1)
	got := fb2.take()
	if len(got) != 6 || r.stats.keyframeReplays.Load() != 1 {
		t.Fatalf("new subscriber got %d packets (%d replays), want the 4 cached and 2 live", len(got), r.stats.keyframeReplays.Load())
	}
	if b := got[0].GetExtension(7); !bytes.Equal(b, buildDD(true, false, 0, 0, true, -1)) {
		t.Fatalf("replayed key frame's descriptor %x, want the one with the structure", b)
	}
	for i, p := range got {
		if len(p.GetExtension(7)) == 0 {
			t.Errorf("packet %d sent without the descriptor", i)
		}
	}
}

// TestAV1DDErrorsCounted: descriptors that cannot be parsed (here: before
// the key frame that carries their template structure, then a truncated
// one) are counted per layer stream (the snapshot) and for the node
// (Stats, exported as qrtn_dd_parse_errors_total); parsed ones are not.
func TestAV1DDErrorsCounted(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	a.unit(false, 2, 5) // 4 packets, no structure yet
	a.unit(true, 0, 3)
	a.unit(false, 2, 5)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: a.seq, Timestamp: 1, SSRC: 5},
		Payload: []byte{0x10, 0xaa}}
	if err := p.SetExtension(3, []byte{0x80, 0x01}); err != nil { // shorter than the mandatory 3 bytes
		t.Fatal(err)
	}
	if err := r.WriteRTP(0, marshal(t, p), a.now); err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot().Layers[0].DDErrors; got != 5 {
		t.Errorf("layer snapshot: %d descriptor errors, want 5", got)
	}
	if got := r.stats.ddErrors.Load(); got != 5 {
		t.Errorf("node counter: %d descriptor errors, want 5", got)
	}
}
