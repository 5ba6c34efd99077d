package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestNACKForPacketNeverReceivedAsksKeyframe: a packet lost before this
// node (the subscriber NACKs it, the node never had it) makes the
// down-track ask the publisher for a key frame once it has stayed missing
// gapGiveUp, instead of leaving the browser to its own 3 s timeout; a
// packet that arrives late within that time, or one the node sent (and
// resends), asks nothing.
func TestNACKForPacketNeverReceivedAsksKeyframe(t *testing.T) {
	up := &countingUpstream{}
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Upstream: up,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
	t.Cleanup(r.close)
	d, fb := boundDown(t, r)
	now := time.Now()
	d.setDecision(1, false, "", now)
	write := func(seq uint16, at time.Time) {
		t.Helper()
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: 9000 + uint32(seq)*3000, SSRC: 5},
			Payload: vp8Payload(seq == 1000, seq == 1000, 77, 3, 20)}
		if err := r.WriteRTP(1, marshal(t, p), at); err != nil {
			t.Fatal(err)
		}
	}
	nack := func(seq uint16, at time.Time) {
		d.onNACK(&rtcp.TransportLayerNack{MediaSSRC: 1111, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{seq})}, at)
	}
	for seq := uint16(1000); seq < 1010; seq++ {
		if seq != 1005 {
			write(seq, now)
		}
	}
	sent := fb.take()
	if len(sent) != 9 || sent[5].SequenceNumber != sent[4].SequenceNumber+2 {
		t.Fatalf("forwarded %d packets, want 9 with a gap where 1005 was lost", len(sent))
	}
	lost := sent[4].SequenceNumber + 1
	base := up.n.Load()

	// Lost for good: asked once, gapGiveUp after the NACK, not before.
	t0 := now.Add(time.Second)
	nack(lost, t0)
	d.checkGap(t0.Add(gapGiveUp / 2))
	nack(lost, t0.Add(gapGiveUp/2)) // the browser NACKs again: still one gap
	if n := up.n.Load() - base; n != 0 {
		t.Fatalf("%d key frame requests before the packet was given up", n)
	}
	d.checkGap(t0.Add(gapGiveUp))
	d.checkGap(t0.Add(gapGiveUp + 10*time.Millisecond))
	if n := up.n.Load() - base; n != 1 || d.q.gapKeyframes.Load() != 1 {
		t.Fatalf("%d key frame requests (%d for gaps) after the NACKed packet stayed missing %v, want 1", n, d.q.gapKeyframes.Load(), gapGiveUp)
	}

	// Late, not lost: the packet arrives within gapGiveUp and goes out.
	for seq := uint16(1010); seq < 1020; seq++ {
		if seq != 1015 {
			write(seq, t0)
		}
	}
	sent = fb.take()
	late := sent[4].SequenceNumber + 1
	t1 := t0.Add(2 * time.Second)
	nack(late, t1)
	write(1015, t1.Add(100*time.Millisecond))
	if got := fb.take(); len(got) != 1 || got[0].SequenceNumber != late {
		t.Fatalf("the late packet went out as %d packets, want one as %d", len(got), late)
	}
	d.checkGap(t1.Add(gapGiveUp))
	// Sent, so resent: no gap either.
	nack(sent[2].SequenceNumber, t1.Add(gapGiveUp))
	d.checkGap(t1.Add(3 * gapGiveUp))
	if n := up.n.Load() - base; n != 1 {
		t.Fatalf("%d key frame requests after a late packet and a resent one, want still 1", n)
	}
}
