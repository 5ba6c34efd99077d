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
	"github.com/pion/interceptor/pkg/flexfec"
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
	pub    *webrtc.API
	sub    subscriberAPI // one API per connection (rtcptap.go)
	udp    net.PacketConn
	udpMux ice.UDPMux
	tcp    net.Listener
	tcpMux ice.TCPMux
	faults *faultConn // nil unless Config.PathFaults (faults.go)

	stats *counters

	// estimators hands each subscriber PeerConnection its bandwidth
	// estimator: the twcc interceptor announces it inside
	// NewPeerConnection, keyed by the PeerConnection's ID.
	estimators sync.Map // string -> *estimator
	// stalls watches the process for CPU stalls, which the estimators
	// must not read as congestion (stall.go).
	stalls *stallWatch
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
		e.tcpMux = webrtc.NewICETCPMux(logs.NewLogger("tcpmux"), queuedListener{e.tcp, &stats.tcpDrops}, 32)
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
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ddURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, err
	}
	reg.Add(ridGuardFactory{stats})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// newSubscriberAPI: sending side. Interceptors are listed innermost first:
// the transport-cc interceptor (twcc.go), which numbers and records every
// packet on the wire of a stream that negotiated transport-cc, so that
// FlexFEC's repair packets and RTX carry TWCC numbers and count in the
// estimate (bwe.go); the FlexFEC counter, just inside FlexFEC; sender
// reports (sreport.go) see media only. NACKs are answered by the down-tracks from the receivers'
// shared caches, not by pion's responder, which would keep a copy per
// subscriber.
func (e *engine) newSubscriberAPI(se webrtc.SettingEngine, cfg Config) (subscriberAPI, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return subscriberAPI{}, err
	}
	for _, fb := range []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}} {
		m.RegisterFeedback(fb, webrtc.RTPCodecTypeVideo)
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeAudio)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return subscriberAPI{}, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ddURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return subscriberAPI{}, err
	}

	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return subscriberAPI{}, err
		}
	}

	reg := &interceptor.Registry{}
	e.stalls = newStallWatch()
	reg.Add(twccFactory{initial: cfg.InitialBitrate, min: 100_000, max: cfg.MaxBitrate, stalls: e.stalls,
		onNew: func(id string, est *estimator) { e.estimators.Store(id, est) }})
	if !cfg.DisableFlexFEC {
		reg.Add(fecCounterFactory{e.stats})
		if err := webrtc.ConfigureFlexFEC03(ptFlexFEC, m, reg,
			flexfec.NumMediaPackets(uint32(cfg.FlexFECMedia)), flexfec.NumFECPackets(uint32(cfg.FlexFECRepair))); err != nil {
			return subscriberAPI{}, err
		}
	}
	reg.Add(srFactory{})
	return subscriberAPI{m: m, reg: reg, se: se}, nil
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
	e.stalls.close()
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
