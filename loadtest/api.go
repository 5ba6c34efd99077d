package loadtest

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	twccpkg "github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The codecs a synthetic client offers and accepts: what a browser
// negotiates with the node, minus what the generator cannot produce.
var (
	videoFeedback = []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"},
	}
	vp8Codec  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}
	opusCodec = webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}},
	}
)

// withoutTWCC is a codec without the transport-cc feedback.
func withoutTWCC(c webrtc.RTPCodecCapability) webrtc.RTPCodecCapability {
	var fb []webrtc.RTCPFeedback
	for _, f := range c.RTCPFeedback {
		if f.Type != webrtc.TypeRTCPFBTransportCC {
			fb = append(fb, f)
		}
	}
	c.RTCPFeedback = fb
	return c
}

// newAPI builds the pion API of a synthetic client: VP8 with RTX and Opus;
// NACK, RTCP reports, TWCC feedback for what it receives (unless twcc is
// false) and, for a publisher, transport-wide sequence numbers on what it
// sends (so the node can estimate the publisher's bandwidth as it does a
// browser's). No stats interceptor: the client counts for itself, and a
// thousand clients share one core.
//
// Without TWCC feedback the node's send-side estimate for the subscriber
// stays at its initial value: a capacity benchmark then measures forwarding,
// not how the node's congestion control reacts to the scheduling jitter of
// a thousand clients on one core (pion stamps a packet's arrival when the
// reading goroutine gets it, not when the socket did).
//
// host, when set, replaces the client's own address in its host
// candidates (see Config.AdvertiseHost).
func newAPI(publisher, twcc bool, host string, logger *slog.Logger) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	vp8, opus := vp8Codec, opusCodec
	if !twcc {
		vp8, opus = withoutTWCC(vp8), withoutTWCC(opus)
	}
	codecs := []struct {
		c    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: opus, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
	}
	// A publisher retransmits on the media SSRC, without RTX: pion's NACK
	// responder copies the original header into the RTX packet, so the
	// simulcast "rid" extension would ride along where a browser puts
	// "repaired-rid", and the node's pion would take the RTX stream for the
	// layer itself (sequence numbers jump, timestamps go back). Subscribers
	// take RTX from the node, as browsers do.
	if !publisher {
		codecs = append(codecs, struct {
			c    webrtc.RTPCodecParameters
			kind webrtc.RTPCodecType
		}{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}, PayloadType: 97}, webrtc.RTPCodecTypeVideo})
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.c, c.kind); err != nil {
			return nil, fmt.Errorf("loadtest: codec %s: %w", c.c.MimeType, err)
		}
	}
	ir := &interceptor.Registry{}
	lf := pionLogs{logger}
	steps := []func() error{
		func() error {
			return webrtc.ConfigureNackWithOptions(m, ir, []nack.GeneratorOption{nack.WithGeneratorLoggerFactory(lf)}, nack.WithResponderLoggerFactory(lf))
		},
		func() error {
			return webrtc.ConfigureRTCPReportsWithOptions(ir, []report.ReceiverOption{report.WithReceiverLoggerFactory(lf)}, report.WithSenderLoggerFactory(lf))
		},
		func() error { return webrtc.ConfigureSimulcastExtensionHeaders(m) },
	}
	if twcc {
		steps = append(steps, func() error { return webrtc.ConfigureTWCCSenderWithOptions(m, ir, twccpkg.WithLoggerFactory(lf)) })
	}
	if publisher {
		steps = append(steps,
			func() error { return webrtc.ConfigureTWCCHeaderExtensionSender(m, ir) },
			// The node's active-speaker detection reads the audio level (RFC 6464).
			func() error {
				return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio)
			})
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, fmt.Errorf("loadtest: interceptors: %w", err)
		}
	}
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// A thousand clients must not open a thousand mDNS sockets.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A dead path is noticed after half a second of silence, as the
	// browser client's watchdog does on a path that carried media
	// (web/static/qrtn-reconnect.js), and restarted (recover.go);
	// keepalives every 200 ms (answered by the node) keep an idle path
	// from looking dead, and the agent looks every 200 ms.
	se.SetICETimeouts(500*time.Millisecond, 10*time.Second, 200*time.Millisecond)
	if host != "" {
		if net.ParseIP(host) == nil {
			return nil, fmt.Errorf("loadtest: advertised host %q is not an IP address", host)
		}
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: []string{host},
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return nil, fmt.Errorf("loadtest: advertised host: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}
