package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestFeedbackOnEverySentSSRC: a browser's transport-cc feedback names the
// SSRC of the last packet it received, which may be a down-track's RTX
// stream (retransmissions, probe padding), its FlexFEC stream, or a
// down-track just removed. pion reads RTCP only for each sender's media
// SSRC and drops the rest ("Incoming unhandled RTCP ssrc"), which starved
// the estimator: every such report must still reach it, and count as
// feedback heard from the participant.
func TestFeedbackOnEverySentSSRC(t *testing.T) {
	t.Parallel()
	s := newTestSFU(t, nil)
	defer s.Close()
	join(t, s, "x", "alice", sfutest.Options{Layers: []string{""}})
	// No transport-cc of its own: only the reports the test sends count.
	bob := join(t, s, "x", "bob", sfutest.Options{Subscribe: true, FlexFEC: true, NoTWCC: true})
	bob.waitRecv("video", func(st map[string]sfutest.TrackStats) bool {
		v, ok := trackOf(st, "video")
		return ok && v.Packets > 10
	})
	var media, rtx, fec uint32
	sub := bob.p.sub
	sub.mu.Lock()
	for _, d := range sub.downs {
		d.mu.Lock()
		if d.r.kind.String() == "video" {
			media, rtx, fec = d.ssrc, d.rtxSSRC, d.fecSSRC
		}
		d.mu.Unlock()
	}
	sub.mu.Unlock()
	if media == 0 || rtx == 0 || fec == 0 {
		t.Fatalf("video down-track SSRCs: media %d, rtx %d, fec %d; want all three", media, rtx, fec)
	}
	reports := func() uint64 {
		sub.est.mu.Lock()
		defer sub.est.mu.Unlock()
		return sub.est.reports
	}
	for _, tc := range []struct {
		name string
		ssrc uint32
	}{{"media", media}, {"rtx", rtx}, {"flexfec", fec}, {"unknown", media ^ 0x5a5a5a5a}} {
		before := reports()
		fb := &rtcp.TransportLayerCC{SenderSSRC: 1, MediaSSRC: tc.ssrc, BaseSequenceNumber: 0, PacketStatusCount: 1,
			ReferenceTime: 1, PacketChunks: []rtcp.PacketStatusChunk{
				&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 1}},
			RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}}}
		fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: uint16(fb.MarshalSize()/4 - 1)}
		// Sent again until it arrives: the path is UDP.
		deadline := time.Now().Add(10 * time.Second)
		for reports() == before {
			if time.Now().After(deadline) {
				t.Fatalf("transport-cc feedback naming the %s SSRC %d never reached the estimator", tc.name, tc.ssrc)
			}
			if err := bob.c.WriteSubscriberRTCP([]rtcp.Packet{fb}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestTapHearsAnyRTCP: the tap marks the participant heard for any RTCP,
// keeps transport-cc feedback from the readers, and passes on the rest.
func TestTapHearsAnyRTCP(t *testing.T) {
	p := &Participant{}
	tap := &rtcpTap{p: p}
	rr, err := (&rtcp.ReceiverReport{SSRC: 1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	if tap.take(rr, now) {
		t.Error("a receiver report was kept from its reader")
	}
	if !p.LastFeedback().Equal(now) {
		t.Errorf("LastFeedback %v after a receiver report at %v", p.LastFeedback(), now)
	}
	fb := &rtcp.TransportLayerCC{MediaSSRC: 7, PacketStatusCount: 1, PacketChunks: []rtcp.PacketStatusChunk{
		&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1}}}
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: uint16(fb.MarshalSize()/4 - 1)}
	raw, err := fb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !tap.take(raw, now.Add(time.Second)) { // no estimator yet: dropped, still heard
		t.Error("transport-cc feedback was passed to the readers")
	}
	if !p.LastFeedback().Equal(now.Add(time.Second)) {
		t.Errorf("LastFeedback %v after feedback at %v", p.LastFeedback(), now.Add(time.Second))
	}
	if tap.take(append(raw, rr...), now) {
		t.Error("a compound of feedback and a receiver report was kept from its reader")
	}
}
