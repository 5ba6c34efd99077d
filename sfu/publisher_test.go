package sfu

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// offerAudio makes a publisher offer listing the given audio codecs in order.
func offerAudio(t *testing.T, codecs ...webrtc.RTPCodecParameters) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func audioFormats(t *testing.T, s string) []string {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			return m.MediaName.Formats
		}
	}
	t.Fatal("no audio section")
	return nil
}

// TestAnswerPrefersRED: whatever the offer's order, the answer lists
// audio/red first when it was offered, and plain Opus otherwise; Opus
// keeps in-band FEC.
func TestAnswerPrefersRED(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}
	plainOpus := opus
	plainOpus.SDPFmtpLine = "minptime=10"
	red := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: 63}
	for i, tc := range []struct {
		offer []webrtc.RTPCodecParameters
		first string
	}{{[]webrtc.RTPCodecParameters{opus, red}, "63"}, {[]webrtc.RTPCodecParameters{red, opus}, "63"}, {[]webrtc.RTPCodecParameters{opus}, "111"}, {[]webrtc.RTPCodecParameters{plainOpus}, "111"}} {
		p, err := s.Join("red", "", ParticipantParams{ID: string(rune('a' + i)), CanPublish: true, OnEvent: func(Event) {}})
		if err != nil {
			t.Fatal(err)
		}
		ans, err := p.HandleOffer(offerAudio(t, tc.offer...))
		if err != nil {
			t.Fatal(err)
		}
		if f := audioFormats(t, ans); f[0] != tc.first {
			t.Errorf("case %d: answer formats %v, want %s first", i, f, tc.first)
		}
		if !strings.Contains(ans, "useinbandfec=1") {
			t.Errorf("case %d: answer without Opus in-band FEC", i)
		}
		p.Close()
	}
}
