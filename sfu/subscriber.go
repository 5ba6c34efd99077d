package sfu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// audioReserve is the share of a subscriber's estimate kept for each audio
// track before video layers are chosen.
const audioReserve = 48_000

// subscriber is a participant's subscriber connection: the SFU offers, one
// offer at a time, and changes made while an offer is out are folded into
// the next one, sent when the answer arrives.
type subscriber struct {
	p    *Participant
	pc   *webrtc.PeerConnection
	est  *estimator
	data *dataChannels // nil without data channels

	negMu    sync.Mutex // guards offering, again, restart, pending, closed
	offering bool
	again    bool
	restart  bool // the next offer restarts ICE (restart.go)
	pending  []webrtc.ICECandidateInit
	closed   bool
	gen      iceGeneration  // the gathering a restart waits for (restart.go)
	gate     *candidateGate // closed while an offer is made (candgate.go)

	// judge says, from the estimate, whether the downlink is congested;
	// used by allocate only (the room loop).
	judge     congestionJudge
	congested atomic.Bool // the judge's last verdict, for snapshots
	// probe decides bandwidth probes (room loop only); pad sends them.
	probe prober
	pad   *padder

	// Room loop only (grade.go).
	gradedAt   time.Time
	lastGrades map[string]string
	lastPaths  map[string]Path

	syncMu sync.Mutex // serializes syncOwner (subscription.go); taken before mu
	// syncRead, when set (tests only), runs in syncOwner right after it
	// read the owner's tracks: a test makes a publish race that read.
	syncRead func()
	// unserved: track groups the client can receive in no codec
	// (backup_answer.go).
	unservedMu sync.Mutex
	unserved   map[unservedKey]*unserved
	mu         sync.Mutex // guards downs; held across AddTrack/RemoveTrack
	downs      map[*Receiver]*DownTrack
	wg         sync.WaitGroup // RTCP readers
}

func newSubscriber(p *Participant) (*subscriber, error) {
	tap := &rtcpTap{p: p}
	pc, err := p.sfu.eng.sub.newPeerConnection(tap)
	if err != nil {
		return nil, fmt.Errorf("sfu: subscriber connection: %w", err)
	}
	est, err := p.sfu.eng.takeEstimator(pc)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	tap.est.Store(est)
	s := &subscriber{p: p, pc: pc, est: est, downs: map[*Receiver]*DownTrack{}}
	s.pad = newPadder(s.videoDowns)
	s.gate = p.watchConnection(pc, TargetSubscriber)
	s.gate.ended = s.gatheringEnded
	return s, nil
}

// add subscribes to a receiver (once).
func (s *subscriber) add(r *Receiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.downs[r]; ok || s.isClosed() || r.closed.Load() || !s.p.maySubscribe() {
		return
	}
	d := newDownTrack(r, s)
	sender, err := s.pc.AddTrack(d)
	if err != nil {
		s.p.log.Debug("subscribe", "track", r.id, "err", err)
		return
	}
	s.setCodecPreferences(sender, r)
	d.sender = sender
	s.downs[r] = d
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		d.readRTCP(sender)
	}()
	r.addDown(d)
	s.negotiate()
}

// setCodecPreferences offers what the track can become: RED then Opus for
// a RED track (the browser picks RED if it can, else the SFU strips it),
// Opus alone otherwise, VP8 with RTX for video.
func (s *subscriber) setCodecPreferences(sender *webrtc.RTPSender, r *Receiver) {
	var prefs []webrtc.RTPCodecParameters
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: ptOpus}
	switch {
	case r.kind == webrtc.RTPCodecTypeVideo:
		return // all registered video codecs: VP8, RTX and FlexFEC
	case r.isRED:
		prefs = []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: ptRED}, opus}
	default:
		prefs = []webrtc.RTPCodecParameters{opus}
	}
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() == sender {
			_ = t.SetCodecPreferences(prefs)
		}
	}
}

// remove unsubscribes from a receiver.
func (s *subscriber) remove(r *Receiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.downs[r]
	if !ok {
		return
	}
	delete(s.downs, r)
	r.removeDown(d)
	d.finish()
	if s.isClosed() {
		return
	}
	if err := s.pc.RemoveTrack(d.sender); err != nil {
		s.p.log.Debug("unsubscribe", "track", r.id, "err", err)
	}
	s.negotiate()
}

func (s *subscriber) isClosed() bool {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	return s.closed
}

// negotiate sends an offer now, or folds the change into the next offer if
// one is outstanding.
func (s *subscriber) negotiate() {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if s.closed {
		return
	}
	if s.offering {
		s.again = true
		return
	}
	s.offerLocked()
}

func (s *subscriber) offerLocked() {
	if s.holdRestartLocked() {
		return // sent when the gathering ends (restart.go)
	}
	s.offerNowLocked()
}

func (s *subscriber) offerNowLocked() {
	var opts *webrtc.OfferOptions
	if s.restart {
		opts = &webrtc.OfferOptions{ICERestart: true}
		s.restart = false
	}
	if opts != nil || s.pc.LocalDescription() == nil {
		s.gen.started() // before pion may end it, in SetLocalDescription
	}
	s.gate.close() // until the offer is out
	defer s.gate.open()
	offer, err := s.pc.CreateOffer(opts)
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		s.p.log.Warn("subscriber offer", "err", err)
		return
	}
	s.gate.expect(offerUfrag(offer))
	s.offering = true
	s.p.emit(Offer{SDP: offer.SDP})
}

// errNoOffer answers an answer nobody asked for.
var errNoOffer = errors.New("sfu: no subscriber offer is outstanding")

func (s *subscriber) handleAnswer(sdp string) error {
	s.beforeAnswer(sdp)
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.offering {
		return errNoOffer
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		// A sender that cannot bind fails the call after the answer was
		// applied (beforeAnswer removes the video ones first): go on, or
		// no offer would ever follow.
		if !errors.Is(err, webrtc.ErrUnsupportedCodec) || s.pc.SignalingState() != webrtc.SignalingStateStable {
			return fmt.Errorf("sfu: subscriber answer: %w", err)
		}
		s.p.log.Warn("subscriber answer: a track cannot be sent", "err", err)
	}
	s.offering = false
	for _, c := range s.pending {
		_ = s.pc.AddICECandidate(c)
	}
	s.pending = nil
	if s.again {
		s.again = false
		s.offerLocked()
	}
	return nil
}

func (s *subscriber) addCandidate(c *webrtc.ICECandidateInit) error {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if c == nil || s.closed {
		return nil
	}
	if s.pc.RemoteDescription() == nil {
		if len(s.pending) >= maxPendingCandidates {
			return errors.New("sfu: too many candidates before the answer")
		}
		s.pending = append(s.pending, *c)
		return nil
	}
	return s.pc.AddICECandidate(*c)
}

// allocate runs the layer selector over this subscriber's video
// down-tracks with its current bandwidth estimate.
func (s *subscriber) allocate(now time.Time) {
	s.tellUnserved(now)
	s.mu.Lock()
	var video []*DownTrack
	audio := 0
	for _, d := range s.downs {
		if d.r.kind == webrtc.RTPCodecTypeVideo {
			video = append(video, d)
		} else {
			audio++
		}
	}
	s.mu.Unlock()
	if len(video) == 0 {
		s.pad.set(0)
		return
	}
	estimate := s.est.GetTargetBitrate()
	congested := s.judge.observe(now, estimate, s.est.evidence)
	if was := s.congested.Swap(congested); congested && !was {
		overuse, loss := s.est.evidence()
		s.p.log.Debug("downlink congested", "estimate", estimate, "overuse", overuse, "loss", loss)
	}
	tracks := make([]allocTrack, len(video))
	for i, d := range video {
		tracks[i] = s.allocTrack(d, now)
	}
	want, sending := demand(tracks, defaultSelectorParams)
	reserve := audio * audioReserve
	budget, padding := s.probe.tick(now, probeInput{estimate: estimate, congested: congested, want: want + reserve, sending: sending + reserve, padded: s.pad.sent.Load()})
	s.pad.set(padding)
	for i, l := range selectLayers(budget-reserve, congested, tracks, now, defaultSelectorParams) {
		if l == tracks[i].current {
			continue
		}
		d, layer, step := video[i], l, svcTemporal-1
		if d.r.temporalSteps() > 1 {
			layer, step = fromLadder(l)
		}
		d.setDecisionT(layer, step, l < tracks[i].maxLayer, switchReason(l, tracks[i], d.r.layerPaused(layer)), now)
	}
}

// allocTrack is how the selector sees down-track d: its layers, or for a
// track with temporal layers its (spatial, temporal) ladder
// (svc_temporal.go), capped by the view and frame-rate preferences.
func (s *subscriber) allocTrack(d *DownTrack, now time.Time) allocTrack {
	q := s.p.trackPreference(d.r)
	d.mu.Lock()
	cur, step, hold := d.decided, d.decidedT, d.hold
	d.mu.Unlock()
	maxLayer := qualityLayer(q, d.r.layerCount())
	d.setAsked(maxLayer, now)
	t := allocTrack{maxLayer: maxLayer, current: cur, main: q == QualityLarge, screen: d.r.source == SourceScreen, hold: hold}
	if d.r.temporalSteps() > 1 {
		var maxStep int
		t.bitrates, maxStep = d.r.temporalBitrates(now, s.p.frameRatePreference(d.r))
		t.maxLayer, t.current = ladderIndex(maxLayer, maxStep), ladderIndex(cur, step)
		return t
	}
	t.bitrates = d.r.layerBitrates(now)
	return t
}

// demand is what tracks would cost with every one at the best layer its
// preference allows (with the selector's margin for going up), and what
// their current layers cost.
func demand(tracks []allocTrack, p selectorParams) (want, sending int) {
	for _, t := range tracks {
		if t.current >= 0 && t.current < len(t.bitrates) {
			sending += max(t.bitrates[t.current], 0)
		}
		for l := min(t.maxLayer, len(t.bitrates)-1); l >= 0; l-- {
			if b := t.bitrates[l]; b > 0 {
				if l > t.current {
					b = int(float64(b) * p.upMargin)
				}
				want += b
				break
			}
		}
	}
	return want, sending
}

// videoDowns lists the video down-tracks (the padder's candidates).
func (s *subscriber) videoDowns() []*DownTrack {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*DownTrack
	for r, d := range s.downs {
		if r.kind == webrtc.RTPCodecTypeVideo {
			out = append(out, d)
		}
	}
	return out
}

// qualityLayer maps a view preference onto a track's layers.
func qualityLayer(q Quality, n int) int {
	switch q {
	case QualityOff:
		return -1
	case QualitySmall:
		return 0
	case QualityMedium:
		return min(1, n-1)
	}
	return n - 1
}

// snapshot reports the estimate, the congestion verdict and the video
// down-tracks' layers, for diagnostics.
func (s *subscriber) snapshot() (estimate int, congested bool, video []DownSnapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r, d := range s.downs {
		if r.kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		d.mu.Lock()
		video = append(video, DownSnapshot{Publisher: r.owner.id, Track: r.id, Asked: int(d.asked.Load()), Decided: d.decided, Step: d.decidedT, Current: d.fwd.current})
		d.mu.Unlock()
	}
	return s.est.GetTargetBitrate(), s.congested.Load(), video
}

// downTracks counts the subscriber's down-tracks.
func (s *subscriber) downTracks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.downs)
}

// close unsubscribes from everything and closes the connection.
func (s *subscriber) close() {
	s.negMu.Lock()
	s.closed = true
	s.gen.stop()
	s.negMu.Unlock()
	s.mu.Lock()
	downs := s.downs
	s.downs = map[*Receiver]*DownTrack{}
	s.mu.Unlock()
	for r, d := range downs {
		r.removeDown(d)
		d.finish()
	}
	s.pad.close()
	_ = s.pc.Close()
	s.wg.Wait()
}
