// Package sfutest provides synthetic WebRTC clients built on pion, for tests
// and load generation against an access node: a publisher that sends
// simulcast VP8 frames with real key frame bits and Opus (optionally RED)
// with audio levels, answering PLIs with key frames; and a subscriber that
// answers server offers and records what it receives. It is signaling
// agnostic: the caller carries Out messages to the node and hands the
// node's offers, answers and candidates back. It is not used by the node.
package sfutest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Out is a message from the client to the node.
type Out struct {
	Type      string // "offer", "answer" or "candidate"
	Target    string // "publisher" or "subscriber"
	SDP       string
	Candidate *webrtc.ICECandidateInit
}

// Options configure a client.
type Options struct {
	// Layers are the simulcast RIDs to publish, small first; nil publishes
	// no video; one empty RID publishes video without simulcast.
	Layers []string
	// Audio publishes an Opus track; RED wraps it in audio/red.
	Audio bool
	RED   bool
	// AudioLevel is the RFC 6464 level sent (0 loud .. 127 silent).
	AudioLevel uint8
	// FPS of the synthetic video; default 30.
	FPS int
	// Subscribe creates a subscriber connection for the node's offers.
	Subscribe bool
	// NoRED leaves audio/red out of the client's codecs, as a browser
	// without RED support.
	NoRED bool
	// FlexFEC accepts flexfec-03 on the subscriber connection, as Chromium
	// does (this client does not decode it).
	FlexFEC bool
	// Loss drops one in Loss of the publisher's video packets after its
	// NACK responder kept them, so that the node's NACKs are answered
	// with RTX retransmissions. 0 drops nothing.
	Loss int
	// RTXWithRID makes retransmissions carry the layer's rid, as pion's
	// NACK responder does by copying the original's header extensions;
	// otherwise they carry repaired-rid, as browsers send them.
	RTXWithRID bool
	// NoTWCC negotiates no transport-cc: the client sends no congestion
	// feedback (as qrtn loadtest --no-twcc).
	NoTWCC bool
	// TCP makes the client use ICE-TCP only (active, towards the node's
	// passive candidates), as a browser behind a firewall without UDP.
	TCP bool
	// MoreVideo adds video codecs (MIME types such as video/VP9 or
	// video/AV1) to the subscriber connection's, so that the node may send
	// them; this client records their packets and decodes nothing.
	MoreVideo []string
}

// Client is one synthetic participant.
type Client struct {
	opts Options
	send func(Out)

	pub, sub *webrtc.PeerConnection
	sock     *dropConn
	mux      ice.UDPMux

	pubGate, subGate *candidateGate

	mu      sync.Mutex
	pending map[string][]webrtc.ICECandidateInit
	media   *media
	recv    map[string]*TrackStats // by "participant/track"
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	ctx     context.Context
	closed  bool
	// subVideo: the subscriber connection's video codecs; onlyVideo: those
	// its answers accept (RestrictVideo), nil for all.
	subVideo   []webrtc.RTPCodecParameters
	onlyVideo  []string
	restricted bool // the last answer was restricted
}

// New returns a client that sends its messages with send (called from
// pion goroutines; it must not block for long).
func New(opts Options, send func(Out)) (*Client, error) {
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{opts: opts, send: send, pending: map[string][]webrtc.ICECandidateInit{},
		recv: map[string]*TrackStats{}, ctx: ctx, cancel: cancel}
	c.pubGate = &candidateGate{target: "publisher", send: send}
	c.subGate = &candidateGate{target: "subscriber", send: send}
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	c.sock = &dropConn{PacketConn: udp}
	quietMux := logging.NewDefaultLoggerFactory()
	quietMux.DefaultLogLevel = logging.LogLevelDisabled
	c.mux = webrtc.NewICEUDPMux(quietMux.NewLogger("udpmux"), c.sock)
	if opts.Subscribe {
		pc, err := c.newPC(opts.NoRED, opts.FlexFEC, nil)
		if err != nil {
			_ = c.mux.Close()
			cancel()
			return nil, err
		}
		c.sub = pc
		c.wire(pc, c.subGate)
		pc.OnTrack(c.onTrack)
	}
	return c, nil
}

func (c *Client) newPC(noRED, flexfec bool, wire interceptor.Factory) (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	codecs := []struct {
		p webrtc.RTPCodecParameters
		t webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: 63}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}, PayloadType: 97}, webrtc.RTPCodecTypeVideo},
	}
	if noRED {
		codecs = codecs[1:]
	}
	if wire == nil { // the subscriber connection
		for i, mt := range c.opts.MoreVideo {
			codecs = append(codecs, struct {
				p webrtc.RTPCodecParameters
				t webrtc.RTPCodecType
			}{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mt, ClockRate: 90000}, PayloadType: webrtc.PayloadType(100 + i)}, webrtc.RTPCodecTypeVideo})
		}
	}
	if flexfec {
		codecs = append(codecs, struct {
			p webrtc.RTPCodecParameters
			t webrtc.RTPCodecType
		}{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeFlexFEC03, ClockRate: 90000, SDPFmtpLine: "repair-window=10000000"}, PayloadType: 49}, webrtc.RTPCodecTypeVideo})
	}
	for _, cd := range codecs {
		if err := m.RegisterCodec(cd.p, cd.t); err != nil {
			return nil, err
		}
		if wire == nil && cd.t == webrtc.RTPCodecTypeVideo {
			c.subVideo = append(c.subVideo, cd.p)
		}
	}
	for _, e := range []struct {
		uri string
		t   webrtc.RTPCodecType
	}{{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio}, {AudioLevelURI, webrtc.RTPCodecTypeAudio}} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.t); err != nil {
			return nil, err
		}
	}
	reg := &interceptor.Registry{}
	if wire != nil {
		reg.Add(wire) // innermost: it sees what the NACK responder sends
	}
	if err := c.registerInterceptors(m, reg); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled // closing races log errors nobody acts on
	se.LoggerFactory = quiet
	se.SetICEUDPMux(c.mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if c.opts.TCP {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}

// registerInterceptors registers pion's defaults, without transport-cc
// under NoTWCC.
func (c *Client) registerInterceptors(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
	if !c.opts.NoTWCC {
		return webrtc.RegisterDefaultInterceptors(m, reg)
	}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return err
	}
	return webrtc.ConfigureSimulcastExtensionHeaders(m)
}

// AudioLevelURI is RFC 6464's header extension.
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

func (c *Client) wire(pc *webrtc.PeerConnection, g *candidateGate) {
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic != nil {
			g.candidate(ic.ToJSON())
		}
	})
}

// Publish creates the publisher connection with the configured tracks and
// sends its offer. Media starts once the answer arrives.
func (c *Client) Publish() error {
	pc, err := c.newPC(false, false, wireShaper{loss: c.opts.Loss, keepRID: c.opts.RTXWithRID})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pub = pc
	c.mu.Unlock()
	c.wire(pc, c.pubGate)
	m, err := newMedia(c, pc)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.media = m
	c.mu.Unlock()
	return c.offerPublisher(nil)
}

// offerPublisher makes and sends a publisher offer, then the candidates
// gathered for it.
func (c *Client) offerPublisher(opts *webrtc.OfferOptions) error {
	c.mu.Lock()
	pc := c.pub
	c.mu.Unlock()
	c.pubGate.close()
	defer c.pubGate.open()
	offer, err := pc.CreateOffer(opts)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	c.send(Out{Type: "offer", Target: "publisher", SDP: offer.SDP})
	return nil
}

// RestartPublisherICE offers again on the publisher connection with new
// ICE credentials, as a browser's restartIce() does.
func (c *Client) RestartPublisherICE() error {
	c.mu.Lock()
	pc := c.pub
	c.mu.Unlock()
	if pc == nil {
		return errors.New("sfutest: no publisher connection")
	}
	awaitGathering(pc) // gather.go
	return c.offerPublisher(&webrtc.OfferOptions{ICERestart: true})
}

// ICEUfrags returns the remote ICE username fragments the publisher and
// subscriber connections use now ("" for a connection that has none).
func (c *Client) ICEUfrags() (pub, sub string) {
	c.mu.Lock()
	p, s := c.pub, c.sub
	c.mu.Unlock()
	return remoteUfrag(p), remoteUfrag(s)
}

func remoteUfrag(pc *webrtc.PeerConnection) string {
	if pc == nil || pc.RemoteDescription() == nil {
		return ""
	}
	// Parse a copy: SessionDescription.Unmarshal caches into pion's own.
	var d sdp.SessionDescription
	if err := d.UnmarshalString(pc.RemoteDescription().SDP); err != nil {
		return ""
	}
	for _, m := range d.MediaDescriptions {
		if u, ok := m.Attribute("ice-ufrag"); ok {
			return u
		}
	}
	if u, ok := d.Attribute("ice-ufrag"); ok {
		return u
	}
	return ""
}

// HandleAnswer applies the node's answer to the publisher offer and starts
// sending media.
func (c *Client) HandleAnswer(sdpText string) error {
	c.mu.Lock()
	pc, m := c.pub, c.media
	c.mu.Unlock()
	if pc == nil {
		return errors.New("sfutest: answer without a publisher offer")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText}); err != nil {
		return err
	}
	c.flush("publisher", pc)
	return m.start()
}

// HandleOffer answers a subscriber offer from the node.
func (c *Client) HandleOffer(sdpText string) error {
	if c.sub == nil {
		return errors.New("sfutest: offer without a subscriber connection")
	}
	awaitGathering(c.sub) // the offer may restart ICE (gather.go)
	c.subGate.close()
	defer c.subGate.open()
	if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdpText}); err != nil {
		return err
	}
	c.restrictAnswer()
	answer, err := c.sub.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.sub.SetLocalDescription(answer); err != nil {
		return err
	}
	c.send(Out{Type: "answer", Target: "subscriber", SDP: answer.SDP})
	c.flush("subscriber", c.sub)
	return nil
}

// HandleCandidate adds a node candidate, holding it until the connection
// has a remote description.
func (c *Client) HandleCandidate(target string, ic *webrtc.ICECandidateInit) error {
	if ic == nil {
		return nil
	}
	c.mu.Lock()
	pc := c.sub
	if target == "publisher" {
		pc = c.pub
	}
	if pc == nil || pc.RemoteDescription() == nil {
		c.pending[target] = append(c.pending[target], *ic)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return pc.AddICECandidate(*ic)
}

func (c *Client) flush(target string, pc *webrtc.PeerConnection) {
	c.mu.Lock()
	p := c.pending[target]
	delete(c.pending, target)
	c.mu.Unlock()
	for _, ic := range p {
		_ = pc.AddICECandidate(ic)
	}
}

// SetAudioLevel changes the audio level sent from now on.
func (c *Client) SetAudioLevel(level uint8) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil {
		m.level.Store(uint32(level))
	}
}

// SetPaused stops or restarts sending one simulcast layer, as a browser
// does when told to deactivate an encoding.
func (c *Client) SetPaused(rid string, paused bool) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil {
		m.setPaused(rid, paused)
	}
}

// Vanish makes the client drop off the network without a word, as a
// crashed browser or a lost link: nothing is sent or received any more.
func (c *Client) Vanish() { c.sock.drop.Store(true) }

// dropConn is the client's one UDP socket; it can be made to drop
// everything.
type dropConn struct {
	net.PacketConn
	drop atomic.Bool
}

func (d *dropConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if d.drop.Load() {
		return len(b), nil
	}
	return d.PacketConn.WriteTo(b, addr)
}

func (d *dropConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := d.PacketConn.ReadFrom(b)
		if err != nil || !d.drop.Load() {
			return n, a, err
		}
	}
}

// Close stops media and closes both connections.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pub, sub := c.pub, c.sub
	c.mu.Unlock()
	c.cancel()
	var errs []error
	if pub != nil {
		errs = append(errs, pub.Close())
	}
	if sub != nil {
		errs = append(errs, sub.Close())
	}
	c.wg.Wait()
	errs = append(errs, c.mux.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sfutest: close: %w", err)
	}
	return nil
}
