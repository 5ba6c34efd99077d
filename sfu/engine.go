package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/flexfec"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// audioLevelURI is RFC 6464's header extension; pion does not register it.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// engine holds the two pion APIs (publisher and subscriber side differ in
// interceptors) and the sockets they share: one UDP port for all ICE, and
// optionally one TCP port.
type engine struct {
	pub, sub *webrtc.API
	udp      net.PacketConn
	udpMux   ice.UDPMux
	tcp      net.Listener
	tcpMux   ice.TCPMux
	faults   *faultConn // nil unless Config.PathFaults (faults.go)

	stats *counters

	// estimators hands each subscriber PeerConnection its GCC estimator:
	// the cc interceptor announces it inside NewPeerConnection, keyed by
	// the PeerConnection's ID.
	estimators sync.Map // string -> *estimator
}

// estimator is a subscriber PeerConnection's send-side bandwidth estimate
// together with the pacer it writes through.
type estimator struct {
	*gcc.SendSideBWE
	pacer *ssrcPacer
}

// udpBuffer is the socket buffer size asked for the shared ICE UDP socket.
const udpBuffer = 4 << 20

func newEngine(cfg Config, logger *slog.Logger, stats *counters) (*engine, error) {
	e := &engine{stats: stats}
	var err error
	if e.udp, err = net.ListenPacket("udp", cfg.UDPAddr); err != nil {
		return nil, fmt.Errorf("sfu: udp %s: %w", cfg.UDPAddr, err)
	}
	// One socket carries every participant's media and RTCP: the kernel's
	// default 208 KiB buffer overflows while the reader shares its core with
	// forwarding. Best effort: the kernel caps it at net.core.rmem_max.
	if c, ok := e.udp.(*net.UDPConn); ok {
		_ = c.SetReadBuffer(udpBuffer)
		_ = c.SetWriteBuffer(udpBuffer)
	}
	logs := pionLogs{logger}
	muxConn := e.udp
	if c, ok := e.udp.(*net.UDPConn); ok && cfg.PathFaults {
		e.faults = newFaultConn(c)
		muxConn = e.faults
	}
	e.udpMux = webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), muxConn)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCPAddr != "" {
		if e.tcp, err = net.Listen("tcp", cfg.TCPAddr); err != nil {
			e.close()
			return nil, fmt.Errorf("sfu: tcp %s: %w", cfg.TCPAddr, err)
		}
		e.tcpMux = webrtc.NewICETCPMux(logs.NewLogger("tcpmux"), e.tcp, 32)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}

	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetICEUDPMux(e.udpMux)
	if e.tcpMux != nil {
		se.SetICETCPMux(e.tcpMux)
	}
	se.SetNetworkTypes(networks)
	se.DisableActiveTCP(true)
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, 2*time.Second)
	// A server resolves nothing over mDNS: browsers' .local candidates are
	// learnt as peer-reflexive from their connectivity checks instead.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(!cfg.ExcludeLoopback)
	if len(cfg.NAT) > 0 {
		rules := make([]webrtc.ICEAddressRewriteRule, 0, len(cfg.NAT))
		for _, r := range cfg.NAT {
			pr, err := r.toPion()
			if err != nil {
				e.close()
				return nil, err
			}
			rules = append(rules, pr)
		}
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			e.close()
			return nil, fmt.Errorf("sfu: nat rules: %w", err)
		}
	}

	if e.pub, err = newPublisherAPI(se, stats); err != nil {
		e.close()
		return nil, err
	}
	if e.sub, err = e.newSubscriberAPI(se, cfg); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// newPublisherAPI: receiving side. NACKs are generated towards the
// publisher (pion's generator), TWCC feedback lets the browser estimate its
// uplink, receiver reports carry loss, and the simulcast and audio-level
// header extensions are negotiated. The rid guard, outermost, keeps each
// simulcast layer on its own media stream (ridguard.go).
func newPublisherAPI(se webrtc.SettingEngine, stats *counters) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor(nack.GeneratorMaxNacksPerPacket(4))
	if err != nil {
		return nil, err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	reg.Add(gen)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(rr)
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, err
	}
	reg.Add(ridGuardFactory{stats})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// newSubscriberAPI: sending side. Interceptors are listed innermost first:
// GCC (with a pass-through pacer), which sees every packet on the wire after
// the TWCC header extension is added, so that FlexFEC's repair packets carry
// TWCC numbers and count in the estimate; the FlexFEC counter, just inside
// FlexFEC (below it, GCC's pacer may route a repair packet through another
// stream's writer); sender reports see media only. GCC is bound only to streams that
// negotiated transport-cc: without feedback its per-packet bookkeeping is
// pure cost. NACKs are answered by the down-tracks from the receivers'
// shared caches, not by pion's responder, which would keep a copy per
// subscriber.
func (e *engine) newSubscriberAPI(se webrtc.SettingEngine, cfg Config) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, err
	}
	for _, fb := range []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}} {
		m.RegisterFeedback(fb, webrtc.RTPCodecTypeVideo)
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeAudio)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}

	reg := &interceptor.Registry{}
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		p := newSSRCPacer()
		bwe, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(cfg.InitialBitrate),
			gcc.SendSideBWEMaxBitrate(cfg.MaxBitrate),
			gcc.SendSideBWEMinBitrate(100_000),
			gcc.SendSideBWEPacer(p),
			gcc.WithLoggerFactory(se.LoggerFactory),
		)
		if err != nil {
			return nil, err
		}
		return &estimator{SendSideBWE: bwe, pacer: p}, nil
	})
	if err != nil {
		return nil, err
	}
	ccf.OnNewPeerConnection(func(id string, est cc.BandwidthEstimator) {
		if es, ok := est.(*estimator); ok {
			e.estimators.Store(id, es)
		}
	})
	reg.Add(twccOnlyFactory{ccf})
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, err
	}
	if !cfg.DisableFlexFEC {
		reg.Add(fecCounterFactory{e.stats})
		if err := webrtc.ConfigureFlexFEC03(ptFlexFEC, m, reg,
			flexfec.NumMediaPackets(uint32(cfg.FlexFECMedia)), flexfec.NumFECPackets(uint32(cfg.FlexFECRepair))); err != nil {
			return nil, err
		}
	}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(mediaOnlyFactory{sr})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// takeEstimator returns the estimator the cc interceptor created for pc.
func (e *engine) takeEstimator(pc *webrtc.PeerConnection) (*estimator, error) {
	v, ok := e.estimators.LoadAndDelete(pc.ID())
	if !ok {
		return nil, errors.New("sfu: no bandwidth estimator for the subscriber connection")
	}
	return v.(*estimator), nil
}

func (e *engine) close() error {
	var errs []error
	if e.udpMux != nil {
		errs = append(errs, e.udpMux.Close())
	} else if e.udp != nil {
		errs = append(errs, e.udp.Close())
	}
	if e.tcpMux != nil {
		errs = append(errs, e.tcpMux.Close())
	} else if e.tcp != nil {
		errs = append(errs, e.tcp.Close())
	}
	return errors.Join(errs...)
}

// ssrcPacer is a gcc.Pacer that sends at once and routes by SSRC, like
// pion's NoOpPacer, but also passes packets of SSRCs it was not told about
// (RTX and FlexFEC repair streams share their media stream's path): every
// stream's writer below it ends in the same SRTP session.
type ssrcPacer struct {
	mu      sync.RWMutex
	writers map[uint32]interceptor.RTPWriter
}

func newSSRCPacer() *ssrcPacer {
	return &ssrcPacer{writers: map[uint32]interceptor.RTPWriter{}}
}

// AddStream registers a media stream's writer (gcc.Pacer).
func (p *ssrcPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc] = w
	p.mu.Unlock()
}

// forget drops a stream that ended, so a long-lived subscriber does not
// accumulate one writer per track it ever received.
func (p *ssrcPacer) forget(ssrc uint32) {
	p.mu.Lock()
	delete(p.writers, ssrc)
	p.mu.Unlock()
}

// Write sends a packet at once on its stream's writer (gcc.Pacer).
func (p *ssrcPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.RLock()
	w, ok := p.writers[h.SSRC]
	if !ok {
		for _, any := range p.writers {
			w, ok = any, true
			break
		}
	}
	p.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("%w: %d", gcc.ErrUnknownStream, h.SSRC)
	}
	return w.Write(h, payload, a)
}

// SetTargetBitrate is ignored: nothing is queued to pace.
func (p *ssrcPacer) SetTargetBitrate(int) {}

// Close has nothing to release.
func (p *ssrcPacer) Close() error { return nil }

// mediaOnlyFactory wraps an interceptor so that its local-stream writer
// only sees packets of the stream's own SSRC. The sender-report interceptor
// would otherwise count RTX retransmissions as media and let their old
// timestamps skew the reports' RTP/NTP mapping.
type mediaOnlyFactory struct{ f interceptor.Factory }

// NewInterceptor wraps the inner factory's interceptor.
func (m mediaOnlyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := m.f.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &mediaOnly{Interceptor: i}, nil
}

type mediaOnly struct{ interceptor.Interceptor }

// BindLocalStream passes other SSRCs around the wrapped writer.
func (m *mediaOnly) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	inner := m.Interceptor.BindLocalStream(info, w)
	ssrc := info.SSRC
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC != ssrc {
			return w.Write(h, payload, a)
		}
		return inner.Write(h, payload, a)
	})
}

// twccOnlyFactory binds the wrapped (congestion control) interceptor only to
// local streams that negotiated the transport-cc header extension; other
// streams bypass it.
type twccOnlyFactory struct{ f interceptor.Factory }

// NewInterceptor wraps the inner factory's interceptor.
func (t twccOnlyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := t.f.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &twccOnly{Interceptor: i}, nil
}

type twccOnly struct{ interceptor.Interceptor }

// BindLocalStream passes streams without transport-cc around the wrapped
// interceptor.
func (t *twccOnly) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !hasTWCC(info) {
		return w
	}
	return t.Interceptor.BindLocalStream(info, w)
}

func hasTWCC(info *interceptor.StreamInfo) bool {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			return true
		}
	}
	return false
}

// fecCounterFactory counts the FlexFEC repair packets sent to subscribers.
// It sits just inside the FlexFEC interceptor, which writes a stream's
// repair packets through that stream's writer; streams without FlexFEC
// bypass it.
type fecCounterFactory struct{ stats *counters }

// NewInterceptor returns the counter.
func (f fecCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &fecCounter{stats: f.stats}, nil
}

type fecCounter struct {
	interceptor.NoOp
	stats *counters
}

// BindLocalStream counts packets of the stream's FlexFEC SSRC.
func (f *fecCounter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	fec := info.SSRCForwardErrorCorrection
	if fec == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC == fec {
			f.stats.fecPackets.Add(1)
			f.stats.fecBytes.Add(uint64(h.MarshalSize() + len(payload)))
		}
		return w.Write(h, payload, a)
	})
}
