package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// notReadyBinding drops what is written until ready, as pion's writer
// does before the subscriber's SRTP is up: 0 bytes, no error.
type notReadyBinding struct {
	fakeBinding
	ready bool
}

func (b *notReadyBinding) WriteStream() webrtc.TrackLocalWriter { return b }

func (b *notReadyBinding) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if !b.ready {
		return 0, nil
	}
	return b.fakeBinding.WriteRTP(h, payload)
}

// TestKeyframeDroppedBeforeTransportIsAskedAgain: a down-track bound
// before its transport can send forwards a key frame that the writer
// drops. It must not go on with delta frames the subscriber cannot decode:
// it asks for a new key frame and starts with it once the transport sends.
func TestKeyframeDroppedBeforeTransportIsAskedAgain(t *testing.T) {
	up := &countingUpstream{}
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Upstream: up,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{""}}, 64, time.Now())
	d := newDownTrack(r, nil)
	fb := &notReadyBinding{fakeBinding: fakeBinding{ssrc: 1111, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 100}}}}
	if _, err := d.Bind(fb); err != nil {
		t.Fatal(err)
	}
	r.addDown(d)
	now := time.Now()
	d.setDecision(0, false, "", now)
	asked := up.n.Load()
	seq, pic := uint16(500), uint16(10)
	frame := func(key bool, at time.Time) {
		t.Helper()
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: 6000 * uint32(pic), SSRC: 5, Marker: true},
			Payload: vp8Payload(true, key, pic, uint8(pic), 20)}
		seq, pic = seq+1, pic+1
		if err := r.WriteRTP(0, marshal(t, p), at); err != nil {
			t.Fatal(err)
		}
	}
	frame(true, now) // dropped: the transport is not up yet
	for i := 1; i <= 3; i++ {
		frame(false, now.Add(time.Duration(i)*66*time.Millisecond))
	}
	fb.ready = true
	for i := 4; i <= 8; i++ {
		frame(false, now.Add(time.Duration(i)*66*time.Millisecond))
	}
	if n := len(fb.take()); n != 0 {
		t.Fatalf("%d delta frames sent with no key frame before them", n)
	}
	if up.n.Load() <= asked {
		t.Fatal("no new key frame request after the first one was dropped")
	}
	frame(true, now.Add(9*66*time.Millisecond))
	frame(false, now.Add(10*66*time.Millisecond))
	sent := fb.take()
	if len(sent) != 2 || sent[0].Payload[6]&0x01 != 0 {
		t.Fatalf("sent %d packets after the new key frame; the first a key frame: %v", len(sent), len(sent) > 0 && sent[0].Payload[6]&0x01 == 0)
	}
}
