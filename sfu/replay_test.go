package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func replayReceiver(up Upstream) *Receiver {
	return newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Upstream: up,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
}

func boundDown(t *testing.T, r *Receiver) (*DownTrack, *fakeBinding) {
	t.Helper()
	d := newDownTrack(r, nil)
	fb := &fakeBinding{ssrc: 1111, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 100}}}
	if _, err := d.Bind(fb); err != nil {
		t.Fatal(err)
	}
	r.addDown(d)
	return d, fb
}

// writeFrames writes n packets of layer 1 from seq, the first a key frame
// when key, one frame per packet 50 ms apart from at.
func writeFrames(t *testing.T, r *Receiver, seq uint16, n int, key bool, at time.Time) time.Time {
	t.Helper()
	for i := range n {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq + uint16(i), Timestamp: 9000 + uint32(i)*4500, SSRC: 5},
			Payload: vp8Payload(true, key && i == 0, 77+uint16(i), 3, 20)}
		if err := r.WriteRTP(1, marshal(t, p), at); err != nil {
			t.Fatal(err)
		}
		at = at.Add(50 * time.Millisecond)
	}
	return at
}

// TestNewSubscriberStartsFromCachedKeyframe: a down-track that joins just
// after a key frame went through starts from the cached copy (the key
// frame and every packet since, in order, then the live ones) and asks
// the publisher for nothing.
func TestNewSubscriberStartsFromCachedKeyframe(t *testing.T) {
	up := &countingUpstream{}
	r := replayReceiver(up)
	d1, fb1 := boundDown(t, r)
	start := time.Unix(1000, 0)
	d1.setDecision(1, false, "", start)
	at := writeFrames(t, r, 100, 4, true, start) // key frame at 100, then 101..103
	if n := len(fb1.take()); n != 4 {
		t.Fatalf("first subscriber got %d packets", n)
	}
	plis := up.n.Load()
	d2, fb2 := boundDown(t, r)
	d2.setDecision(1, false, "", at)
	writeFrames(t, r, 104, 2, false, at)
	got := fb2.take()
	if len(got) != 6 {
		t.Fatalf("new subscriber got %d packets, want the 4 cached and 2 live", len(got))
	}
	for i, p := range got {
		if p.SequenceNumber != got[0].SequenceNumber+uint16(i) {
			t.Fatalf("packet %d: seq %d after %d", i, p.SequenceNumber, got[0].SequenceNumber)
		}
	}
	if d, err := parseVP8(got[0].Payload); err != nil || !d.keyframe {
		t.Fatalf("first packet is not the key frame: %v %v", d, err)
	}
	if up.n.Load() != plis {
		t.Fatalf("%d key frame requests for a subscriber served from the cache", up.n.Load()-plis)
	}
	if r.stats.keyframeReplays.Load() != 1 {
		t.Fatalf("%d replays counted", r.stats.keyframeReplays.Load())
	}
}

// TestStaleKeyframeIsNotReplayed: a key frame older than replayMaxAge is
// not replayed (the picture would start that far behind); the publisher is
// asked for a new one.
func TestStaleKeyframeIsNotReplayed(t *testing.T) {
	up := &countingUpstream{}
	r := replayReceiver(up)
	d1, _ := boundDown(t, r)
	start := time.Unix(1000, 0)
	d1.setDecision(1, false, "", start)
	writeFrames(t, r, 100, 2, true, start)
	late := start.Add(replayMaxAge + time.Second)
	plis := up.n.Load()
	d2, fb2 := boundDown(t, r)
	d2.setDecision(1, false, "", late)
	writeFrames(t, r, 102, 2, false, late)
	if n := len(fb2.take()); n != 0 {
		t.Fatalf("sent %d packets without a key frame", n)
	}
	if up.n.Load() != plis+1 {
		t.Fatalf("%d key frame requests, want 1", up.n.Load()-plis)
	}
}
