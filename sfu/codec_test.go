package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestH264Keyframe(t *testing.T) {
	for _, c := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"single IDR", []byte{0x65, 0x88}, true},
		{"single SPS", []byte{0x67, 0x42}, true},
		{"single non-IDR slice", []byte{0x41, 0x9a}, false},
		{"STAP-A with SPS and PPS", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"STAP-A of SEI and slice", []byte{0x78, 0, 2, 0x06, 0x05, 0, 2, 0x41, 0x9a}, false},
		{"STAP-A truncated", []byte{0x78, 0, 9, 0x67}, false},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0x88}, false},
		{"FU-A start of slice", []byte{0x7c, 0x81, 0x9a}, false},
	} {
		if got := h264Keyframe(c.payload); got != c.want {
			t.Errorf("%s: h264Keyframe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAV1Keyframe(t *testing.T) {
	if !av1Keyframe([]byte{0x18, 0x0a}) || av1Keyframe([]byte{0x10, 0x0a}) || av1Keyframe(nil) {
		t.Error("the N bit of the aggregation header marks a key frame, and only it")
	}
}

func TestParseVP9(t *testing.T) {
	// I=1 (15-bit picture ID), L=1, B=1, E=0, V=1: a key frame's first
	// packet of spatial layer 0 with a scalability structure of 3 spatial
	// layers with resolutions and no picture group.
	key := []byte{0xaa, 0x80 | 0x12, 0x34, 0x00 | 0x10, 0x07, 0x50,
		0, 160, 0, 120, 1, 64, 0, 240, 2, 128, 1, 224, 0xde}
	d, err := parseVP9(key)
	if err != nil {
		t.Fatal(err)
	}
	if !d.keyframe || d.picID != 0x1234 || d.sid != 0 || d.tid != 0 || !d.switchUp || d.tl0 != 7 || d.spatialLayers != 3 || d.headerLen != len(key)-1 {
		t.Errorf("key frame descriptor: %+v", d)
	}
	// P=1, L=1, B=0, E=1: the last packet of an inter frame of S2 T1.
	inter := []byte{0xe4, 0x05, 0x20 | 0x04 | 0x01, 0x09, 0xab}
	d, err = parseVP9(inter)
	if err != nil {
		t.Fatal(err)
	}
	if d.keyframe || !d.end || d.start || d.sid != 2 || d.tid != 1 || !d.interLyr || d.picID != 5 || d.headerLen != 4 {
		t.Errorf("inter frame descriptor: %+v", d)
	}
	// Flexible mode with two P_DIFFs.
	flex := []byte{0xd8, 0x05, 0x03, 0x04, 0xcc}
	if d, err = parseVP9(flex); err != nil || d.headerLen != 4 || d.keyframe {
		t.Errorf("flexible mode: %+v, %v", d, err)
	}
	for n := 1; n < len(key)-1; n++ {
		if _, err := parseVP9(key[:n]); err == nil {
			t.Errorf("a descriptor truncated to %d bytes parses", n)
		}
	}
}

func TestMatchCodec(t *testing.T) {
	h := func(pt uint8, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp}, PayloadType: webrtc.PayloadType(pt)}
	}
	negotiated := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96},
		h(98, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
		h(102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
		h(110, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=640c1f"),
	}
	for _, c := range []struct {
		mime, fmtp string
		pt         uint8
		ok         bool
	}{
		{webrtc.MimeTypeVP8, "", 96, true},
		{webrtc.MimeTypeH264, "packetization-mode=1;profile-level-id=4d0032", 102, true},
		{webrtc.MimeTypeH264, "packetization-mode=1;profile-level-id=42e01f", 98, true},
		{webrtc.MimeTypeH264, "packetization-mode=1;profile-level-id=640c1f", 98, true}, // another profile, same mode
		{webrtc.MimeTypeH264, "packetization-mode=0;profile-level-id=42e01f", 110, true},
		{webrtc.MimeTypeVP9, "profile-id=0", 0, false},
	} {
		got, ok := matchCodec(negotiated, webrtc.RTPCodecCapability{MimeType: c.mime, SDPFmtpLine: c.fmtp})
		if ok != c.ok || (ok && uint8(got.PayloadType) != c.pt) {
			t.Errorf("%s %s: got pt %d ok %v, want %d %v", c.mime, c.fmtp, got.PayloadType, ok, c.pt, c.ok)
		}
	}
}

func FuzzParseVP9(f *testing.F) {
	f.Add([]byte{0xaa, 0x92, 0x34, 0x10, 0x07, 0x50, 0, 160, 0, 120, 1, 64, 0, 240, 2, 128, 1, 224, 0xde})
	f.Add([]byte{0xd8, 0x05, 0x00, 0x03, 0x04, 0xcc})
	f.Add([]byte{0x0a, 0x18, 0x01, 0x04, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseVP9(b)
		if err != nil {
			return
		}
		if d.headerLen > len(b) {
			t.Fatalf("header of %d bytes in a payload of %d", d.headerLen, len(b))
		}
		buf := append([]byte(nil), b...)
		pf := d.fields()
		pf.rewrite(buf, d.picID, d.tl0)
		if string(buf) != string(b) {
			t.Fatal("rewriting the same picture ID and TL0PICIDX changed the payload")
		}
	})
}

func FuzzH264Keyframe(f *testing.F) {
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce})
	f.Add([]byte{0x7c, 0x85, 0x88})
	f.Fuzz(func(t *testing.T, b []byte) { _ = h264Keyframe(b) })
}
