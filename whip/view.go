package whip

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
)

// viewSession is a WHEP viewer: a participant of the room without media
// (so that a participant on another node is mirrored here), and a
// PeerConnection of its own that the watched participant's tracks are
// copied into from the SFU's sinks. Video takes the largest simulcast
// layer; RED audio is reduced to its primary Opus.
type viewSession struct {
	s        *Server
	roomName string
	target   string
	viewer   *sfu.Participant
	pc       *webrtc.PeerConnection
	tag      string
	ufrag    string
	tracks   map[string]*webrtc.TrackLocalStaticRTP // by kind

	mu    sync.Mutex
	bound map[string]*binding // by kind: the receiver a track is fed from
	stop  chan struct{}
	once  sync.Once
}

// binding is one watched track feeding one of the session's tracks.
type binding struct {
	rcv    *sfu.Receiver
	layer  int
	remove func()
}

func (vs *viewSession) room() string { return vs.roomName }
func (vs *viewSession) etag() string { return vs.tag }

func (vs *viewSession) addCandidates(f sdpFrag) error {
	if f.ufrag != "" && f.ufrag != vs.ufrag {
		return fail(http.StatusUnprocessableEntity, "ICE restarts are not supported: start a new session")
	}
	for _, c := range f.cands {
		if err := vs.pc.AddICECandidate(c); err != nil {
			return fail(http.StatusBadRequest, "candidate: %v", err)
		}
	}
	return nil
}

// postWHEP creates a WHEP session: POST /whep/ROOM/PARTICIPANT with an SDP
// offer (receive-only audio and video) and a token that may subscribe.
func (s *Server) postWHEP(w http.ResponseWriter, r *http.Request) {
	g, offer, err := s.begin(r, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	vs := &viewSession{s: s, roomName: g.Room, target: r.PathValue("participant"), tag: `"` + newID() + `"`,
		ufrag: iceUfrag(offer), tracks: map[string]*webrtc.TrackLocalStaticRTP{}, bound: map[string]*binding{}, stop: make(chan struct{})}
	if vs.target == g.Identity {
		writeErr(w, fail(http.StatusBadRequest, "a viewer cannot watch its own identity"))
		return
	}
	if s.cfg.Known != nil && !s.cfg.Known(g.Room, vs.target) {
		writeErr(w, fail(http.StatusNotFound, "no participant %q in room %q", vs.target, g.Room))
		return
	}
	vs.viewer, err = s.cfg.SFU.Join(g.Room, "", sfu.ParticipantParams{ID: g.Identity, Name: g.Name,
		OnEvent: func(ev sfu.Event) {
			if _, ok := ev.(sfu.Closed); ok {
				go vs.close()
			}
		}})
	if err != nil {
		writeErr(w, fail(http.StatusServiceUnavailable, "join: %v", err))
		return
	}
	answer, err := vs.negotiate(r.Context(), offer)
	if err != nil {
		vs.close()
		writeErr(w, err)
		return
	}
	s.wg.Add(1)
	go vs.follow()
	s.created(w, r, g, vs, answer)
	s.log.Info("whep session", "room", g.Room, "identity", g.Identity, "watching", vs.target)
}

// negotiate waits for the watched participant's tracks on this node, then
// answers the offer with them.
func (vs *viewSession) negotiate(ctx context.Context, offer string) (string, error) {
	tracks, err := vs.waitTracks(ctx, offerKinds(offer))
	if err != nil {
		return "", err
	}
	api, err := vs.s.api()
	if err != nil {
		return "", err
	}
	if vs.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return "", err
	}
	vs.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			go vs.close()
		}
	})
	if err := vs.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fail(http.StatusBadRequest, "the offer cannot be used: %v", err)
	}
	for _, rcv := range tracks {
		kind := kindOf(rcv)
		if vs.tracks[kind] != nil {
			continue
		}
		capab := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		if kind == "audio" {
			capab = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		} else if !strings.EqualFold(rcv.Codec().MimeType, webrtc.MimeTypeVP8) {
			capab = rcv.Codec()
		}
		t, err := webrtc.NewTrackLocalStaticRTP(capab, kind, vs.target)
		if err != nil {
			return "", err
		}
		sender, err := vs.pc.AddTrack(t)
		if err != nil {
			return "", fail(http.StatusBadRequest, "the offer has no usable %s section: %v", kind, err)
		}
		vs.tracks[kind] = t
		vs.s.wg.Add(1)
		go vs.readRTCP(sender, kind)
	}
	ans, err := vs.pc.CreateAnswer(nil)
	if err != nil {
		return "", fail(http.StatusBadRequest, "answer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(vs.pc)
	if err := vs.pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-time.After(vs.s.cfg.Timeout):
	}
	vs.rebind()
	return vs.pc.LocalDescription().SDP, nil
}

// waitTracks waits until the watched participant has tracks on this node
// (a participant of another node appears once the trunk mirrors it, one
// track at a time). It waits for a track of each kind the offer receives;
// once one has come, the others get trackGrace more (the participant may
// publish audio only).
func (vs *viewSession) waitTracks(ctx context.Context, kinds map[string]bool) ([]*sfu.Receiver, error) {
	deadline := time.Now().Add(vs.s.cfg.Timeout)
	var first time.Time
	for {
		var tracks []*sfu.Receiver
		if r := vs.s.cfg.SFU.Room(vs.roomName); r != nil {
			if p := r.Participant(vs.target); p != nil {
				tracks = p.Tracks()
			}
		}
		if len(tracks) > 0 {
			if first.IsZero() {
				first = time.Now()
			}
			missing := 0
			for k := range kinds {
				if !slices.ContainsFunc(tracks, func(t *sfu.Receiver) bool { return kindOf(t) == k }) {
					missing++
				}
			}
			if missing == 0 || time.Since(first) >= trackGrace {
				return tracks, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fail(http.StatusNotFound, "participant %q has no tracks in room %q", vs.target, vs.roomName)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// trackGrace is how long a WHEP session waits for the watched
// participant's other kinds once one track is there.
const trackGrace = 3 * time.Second

// offerKinds lists the media kinds an offer has m-sections for.
func offerKinds(sdp string) map[string]bool {
	kinds := map[string]bool{}
	for line := range strings.Lines(sdp) {
		switch {
		case strings.HasPrefix(line, "m=audio "):
			kinds["audio"] = true
		case strings.HasPrefix(line, "m=video "):
			kinds["video"] = true
		}
	}
	return kinds
}

// follow keeps the session's tracks fed from the watched participant's
// current tracks (a track republished or re-mirrored replaces its
// receiver).
func (vs *viewSession) follow() {
	defer vs.s.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-vs.stop:
			return
		case <-t.C:
			vs.rebind()
		}
	}
}

// rebind attaches a sink to the watched participant's track of each kind
// the session sends, and drops sinks of tracks that ended.
func (vs *viewSession) rebind() {
	var tracks []*sfu.Receiver
	if r := vs.s.cfg.SFU.Room(vs.roomName); r != nil {
		if p := r.Participant(vs.target); p != nil {
			tracks = p.Tracks()
		}
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	select {
	case <-vs.stop:
		return
	default:
	}
	for kind, out := range vs.tracks {
		var rcv *sfu.Receiver
		for _, t := range tracks {
			if kindOf(t) == kind {
				rcv = t
				break
			}
		}
		b := vs.bound[kind]
		if b != nil && b.rcv == rcv {
			continue
		}
		if b != nil {
			b.remove()
			delete(vs.bound, kind)
		}
		if rcv == nil {
			continue
		}
		layer := max(len(rcv.Info().Layers)-1, 0)
		red := strings.EqualFold(rcv.Codec().MimeType, "audio/red")
		remove, err := rcv.AddSink(layer, &viewSink{out: out, red: red})
		if err != nil {
			continue
		}
		vs.bound[kind] = &binding{rcv: rcv, layer: layer, remove: remove}
	}
}

// readRTCP passes the viewer's key frame requests to the watched track.
func (vs *viewSession) readRTCP(sender *webrtc.RTPSender, kind string) {
	defer vs.s.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				vs.mu.Lock()
				b := vs.bound[kind]
				vs.mu.Unlock()
				if b != nil {
					b.rcv.RequestKeyframe(b.layer)
				}
			}
		}
	}
}

func (vs *viewSession) close() {
	vs.once.Do(func() {
		vs.mu.Lock()
		close(vs.stop)
		for _, b := range vs.bound {
			b.remove()
		}
		vs.bound = nil
		vs.mu.Unlock()
		if vs.pc != nil {
			_ = vs.pc.Close()
		}
		vs.viewer.Close()
		vs.s.forget(vs)
	})
}

func kindOf(r *sfu.Receiver) string {
	if r.Kind() == webrtc.RTPCodecTypeAudio {
		return "audio"
	}
	return "video"
}

// viewSink copies one layer into a viewer's track: header extensions are
// dropped (their IDs are the publisher's), SSRC and payload type are the
// track's, and RED is reduced to its primary block.
type viewSink struct {
	out *webrtc.TrackLocalStaticRTP
	red bool
	pkt rtp.Packet // reused: WriteRTP runs on the receiver's one goroutine
}

func (v *viewSink) WriteRTP(_ int, raw []byte) {
	if err := v.pkt.Unmarshal(raw); err != nil {
		return
	}
	v.pkt.Extension, v.pkt.Extensions = false, nil
	if v.red {
		primary, ok := redPrimary(v.pkt.Payload)
		if !ok {
			return
		}
		v.pkt.Payload = primary
	}
	_ = v.out.WriteRTP(&v.pkt)
}

func (v *viewSink) TrackEnded() {}

// redPrimary returns the primary block of an RFC 2198 payload.
func redPrimary(b []byte) ([]byte, bool) {
	off, skip := 0, 0
	for {
		if off >= len(b) {
			return nil, false
		}
		if b[off]&0x80 == 0 {
			off++
			break
		}
		if off+4 > len(b) {
			return nil, false
		}
		skip += int(b[off+2]&0x03)<<8 | int(b[off+3])
		off += 4
	}
	if off+skip > len(b) {
		return nil, false
	}
	return b[off+skip:], true
}

// api builds the pion API of WHEP sessions once: VP8 and Opus, with NACK
// answering and reports from pion's default interceptors.
func (s *Server) api() (*webrtc.API, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pionAPI != nil {
		return s.pionAPI, nil
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	s.pionAPI = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg))
	return s.pionAPI, nil
}
