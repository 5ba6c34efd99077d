package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp9Packet builds a VP9 payload of spatial layer sid: B and E flags, a
// key frame (P=0) or not, non-flexible mode with layer indices.
func vp9Packet(sid uint8, start, end, key bool, picID uint16) []byte {
	b0 := byte(0xa0) // I, L
	if !key {
		b0 |= 0x40
	}
	if start {
		b0 |= 0x08
	}
	if end {
		b0 |= 0x04
	}
	return []byte{b0, 0x80 | byte(picID>>8), byte(picID), sid << 1, 0x01, 0xaa, 0xbb}
}

// TestSVCForwarding: a VP9 stream of three spatial layers is forwarded
// whole to a large subscriber; on a small decision the next picture goes
// out with spatial layer 0 only, in consecutive sequence numbers and with
// the marker on its last packet; going up waits for a key frame.
func TestSVCForwarding(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	if !r.svc || r.layerCount() != 3 {
		t.Fatalf("a single-stream VP9 track is not SVC: svc %v, %d layers", r.svc, r.layerCount())
	}
	d, fb := bindVP9Down(t, r)
	now := time.Now()
	d.setDecision(2, false, "preference", now)
	seq := uint16(100)
	picture := func(key bool, pic uint16) {
		for sid := uint8(0); sid < 3; sid++ {
			for k := 0; k < 2; k++ {
				p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(pic) * 3000,
					SSRC: 5, Marker: sid == 2 && k == 1}, Payload: vp9Packet(sid, k == 0, k == 1, key && sid == 0, pic)}
				seq++
				if err := r.WriteRTP(0, marshal(t, p), now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	picture(true, 1)
	if sent := fb.take(); len(sent) != 6 {
		t.Fatalf("large: %d packets of a 6-packet picture forwarded", len(sent))
	}
	d.setDecision(0, false, "preference", now)
	picture(false, 2)
	picture(false, 3)
	sent := fb.take()
	if len(sent) != 4 {
		t.Fatalf("small: %d packets of two pictures forwarded, want their 4 of spatial layer 0", len(sent))
	}
	for i, p := range sent {
		if i > 0 && p.SequenceNumber != sent[i-1].SequenceNumber+1 {
			t.Errorf("sequence gap: %d after %d", p.SequenceNumber, sent[i-1].SequenceNumber)
		}
		if p.Marker != (i%2 == 1) {
			t.Errorf("packet %d: marker %v", i, p.Marker)
		}
	}
	d.setDecision(2, false, "preference", now)
	picture(false, 4) // no key frame: still small
	if n := len(fb.take()); n != 2 {
		t.Errorf("up without a key frame: %d packets, want 2 (layer 0)", n)
	}
	picture(true, 5)
	if n := len(fb.take()); n != 6 {
		t.Errorf("up at a key frame: %d packets, want 6", n)
	}
}

// packetSink keeps the packets a sink gets.
type packetSink struct{ got []*rtp.Packet }

func (s *packetSink) WriteRTP(_ int, raw []byte) {
	var p rtp.Packet
	if err := p.Unmarshal(append([]byte(nil), raw...)); err == nil {
		s.got = append(s.got, &p)
	}
}
func (s *packetSink) TrackEnded() {}

// TestSVCSink: an SVC track is taken out (to a trunk) as one decodable
// stream per wanted spatial layer: the sink of layer 0 gets the base
// layer in consecutive sequence numbers with the marker at its end, the
// sink of layer 2 everything unchanged; the track names its spatial
// layers for trunks and clients, and a sink beyond them is refused.
func TestSVCSink(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	if got := r.Info().Layers; len(got) != 3 || got[0] != "s" || got[2] != "l" {
		t.Fatalf("an SVC track's layers for trunks: %v", got)
	}
	small, large := &packetSink{}, &packetSink{}
	if _, err := r.AddSink(0, small); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddSink(2, large); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddSink(3, &packetSink{}); err == nil {
		t.Error("a sink of a fourth spatial layer was accepted")
	}
	now, seq := time.Now(), uint16(65530) // across the wrap
	for pic := uint16(1); pic <= 3; pic++ {
		for sid := uint8(0); sid < 3; sid++ {
			for k := 0; k < 2; k++ {
				p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(pic) * 3000,
					SSRC: 5, Marker: sid == 2 && k == 1}, Payload: vp9Packet(sid, k == 0, k == 1, pic == 1 && sid == 0, pic)}
				seq++
				if err := r.WriteRTP(0, marshal(t, p), now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(large.got) != 18 {
		t.Fatalf("layer 2 sink: %d packets, want all 18", len(large.got))
	}
	if len(small.got) != 6 {
		t.Fatalf("layer 0 sink: %d packets, want 6", len(small.got))
	}
	for i, p := range small.got {
		if i > 0 && p.SequenceNumber != small.got[i-1].SequenceNumber+1 {
			t.Errorf("layer 0 sink: sequence %d after %d", p.SequenceNumber, small.got[i-1].SequenceNumber)
		}
		if p.Marker != (i%2 == 1) {
			t.Errorf("layer 0 sink: packet %d marker %v", i, p.Marker)
		}
	}
	for i, p := range large.got {
		if p.SequenceNumber != uint16(65530+i) {
			t.Errorf("layer 2 sink: packet %d renumbered to %d", i, p.SequenceNumber)
		}
	}
}

// TestVP9RewriteRoundTrip: the forwarder's picture ID and TL0PICIDX land
// where parseVP9 reads them.
func TestVP9RewriteRoundTrip(t *testing.T) {
	p := vp9Packet(1, true, false, false, 0x7ffe)
	d, err := parseVP9(p)
	if err != nil {
		t.Fatal(err)
	}
	buf := append([]byte(nil), p...)
	f := d.fields()
	f.rewrite(buf, 0x0102, 9)
	d2, err := parseVP9(buf)
	if err != nil {
		t.Fatal(err)
	}
	if d2.picID != 0x0102 || d2.tl0 != 9 || d2.sid != 1 || d2.headerLen != d.headerLen {
		t.Fatalf("rewritten descriptor %+v", d2)
	}
}

// TestVP9PictureIDsAcrossLayerSwitch: the spatial layer streams of an SVC
// track come from one encoder, so after a switch the new stream's key
// frame repeats a picture ID the subscriber already got; the forwarder
// renumbers it as the next picture (a repeated ID made Chromium drop
// frames until its next key frame request: a 2 s freeze).
func TestVP9PictureIDsAcrossLayerSwitch(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Layers: []string{"s", "m", "l"},
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	d, fb := bindVP9Down(t, r)
	now := time.Now()
	seqs := [3]uint16{100, 5000, 9000}
	send := func(layer int, key bool, pic uint16) {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seqs[layer], Timestamp: uint32(pic) * 4500,
			SSRC: 5, Marker: true}, Payload: vp9Packet(0, true, true, key, pic)}
		seqs[layer]++
		if err := r.WriteRTP(layer, marshal(t, p), now); err != nil {
			t.Fatal(err)
		}
	}
	d.setDecision(2, false, "preference", now)
	send(2, true, 10)
	send(2, false, 11)
	send(2, false, 12)
	d.setDecision(0, false, "preference", now)
	send(0, true, 11) // the small stream's key frame: an earlier picture ID
	send(0, false, 12)
	var pics []uint16
	for _, p := range fb.take() {
		v, err := parseVP9(p.Payload)
		if err != nil {
			t.Fatal(err)
		}
		pics = append(pics, v.picID)
	}
	want := []uint16{10, 11, 12, 13, 14}
	if len(pics) != len(want) {
		t.Fatalf("picture IDs sent %v, want %v", pics, want)
	}
	for i := range want {
		if pics[i] != want[i] {
			t.Fatalf("picture IDs sent %v, want %v", pics, want)
		}
	}
}
