package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// The video codecs the SFU forwards. Nothing is transcoded: a subscriber
// gets the codec the publisher sent (or the publisher's backup codec), so
// the SFU only needs, per codec, where a key frame starts (to switch
// simulcast layers) and, for SVC codecs, which layer a packet belongs to.
//
// H.264 is registered with packetization-mode=1 in the profiles Chromium
// and Safari offer: Constrained Baseline (42e01f), Baseline (42001f), Main
// (4d001f) and Safari's High (640c1f). A subscriber is given the publisher's
// profile when it has it, else another H.264 profile with the same
// packetization mode (level-asymmetry-allowed lets the levels differ).

// codecKind is what the forwarding path needs to know of a codec.
type codecKind uint8

const (
	codecOther codecKind = iota // audio, or a codec forwarded without parsing
	codecVP8
	codecH264
	codecVP9
	codecAV1
)

func codecKindOf(mime string) codecKind {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return codecVP8
	case "video/h264":
		return codecH264
	case "video/vp9":
		return codecVP9
	case "video/av1":
		return codecAV1
	}
	return codecOther
}

// Payload types the SFU offers to subscribers. Publishers keep their own:
// pion answers with the offer's numbering.
const (
	ptOpus    = 111
	ptRED     = 63
	ptFlexFEC = 49
	ptVP8     = 96
	ptVP8RTX  = 97
)

// videoCodec is one registered video codec and the payload type of its RTX.
type videoCodec struct {
	mime, fmtp string
	pt, rtx    uint8
}

// videoCodecs are registered in this order: a subscriber offer lists them
// so, and a browser publisher's answer takes the first it offered.
var videoCodecs = []videoCodec{
	{webrtc.MimeTypeVP8, "", ptVP8, ptVP8RTX},
	{webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 98, 99},
	{webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", 100, 101},
	{webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", 102, 103},
	{webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f", 104, 105},
	{webrtc.MimeTypeVP9, "profile-id=0", 106, 107},
	{webrtc.MimeTypeAV1, "level-idx=5;profile=0;tier=0", 108, 109},
}

// registerCodecs registers what the SFU forwards: Opus (with in-band FEC)
// preceded by audio/red so that RED wins where both sides have it, and the
// video codecs above, each with RTX.
func registerCodecs(m *webrtc.MediaEngine) error {
	videoFB := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	audio := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: ptRED},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: ptOpus},
	}
	for _, c := range audio {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return fmt.Errorf("sfu: register %s: %w", c.MimeType, err)
		}
	}
	for _, c := range videoCodecs {
		for _, p := range []webrtc.RTPCodecParameters{
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: c.mime, ClockRate: 90000, SDPFmtpLine: c.fmtp, RTCPFeedback: videoFB}, PayloadType: webrtc.PayloadType(c.pt)},
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", c.pt)}, PayloadType: webrtc.PayloadType(c.rtx)},
		} {
			if err := m.RegisterCodec(p, webrtc.RTPCodecTypeVideo); err != nil {
				return fmt.Errorf("sfu: register %s: %w", p.MimeType, err)
			}
		}
	}
	return nil
}

// fmtpValue returns the value of key in an fmtp line ("" when absent).
func fmtpValue(fmtp, key string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// matchCodec picks, from what a subscriber negotiated, the codec to send
// want as: the same MIME type and, for H.264, the same packetization mode,
// the same profile if possible (a profile_idc match next). ok is false when
// the subscriber has nothing that can carry want.
func matchCodec(codecs []webrtc.RTPCodecParameters, want webrtc.RTPCodecCapability) (webrtc.RTPCodecParameters, bool) {
	best, score := webrtc.RTPCodecParameters{}, -1
	h264 := codecKindOf(want.MimeType) == codecH264
	wantMode := fmtpValue(want.SDPFmtpLine, "packetization-mode")
	wantProfile := strings.ToLower(fmtpValue(want.SDPFmtpLine, "profile-level-id"))
	for _, c := range codecs {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		s := 0
		if h264 {
			if fmtpValue(c.SDPFmtpLine, "packetization-mode") != wantMode {
				continue
			}
			p := strings.ToLower(fmtpValue(c.SDPFmtpLine, "profile-level-id"))
			switch {
			case len(p) >= 4 && len(wantProfile) >= 4 && p[:4] == wantProfile[:4]:
				s = 2
			case len(p) >= 2 && len(wantProfile) >= 2 && p[:2] == wantProfile[:2]:
				s = 1
			}
		}
		if s > score {
			best, score = c, s
		}
	}
	return best, score >= 0
}

// MimeSubtype is the part of a MIME type after the slash, as clients name
// codecs ("VP8", "H264", "VP9", "AV1").
func MimeSubtype(mime string) string {
	if _, sub, ok := strings.Cut(mime, "/"); ok {
		return sub
	}
	return mime
}
