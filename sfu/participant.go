package sfu

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// ParticipantParams describes a participant joining a room.
type ParticipantParams struct {
	ID           string // unique in the room; a second join with it replaces the first
	Name         string
	CanPublish   bool
	CanSubscribe bool
	// Data gives the participant data channels (sfu/data.go) on its
	// subscriber connection; it needs CanSubscribe.
	Data bool
	// Remote marks a participant fed by code rather than by a browser, such
	// as a trunk relaying another node's participant: it has no
	// PeerConnections and publishes with PublishTrack.
	Remote bool
	// OnEvent receives the participant's events in order. It is called from
	// SFU goroutines, possibly with SFU locks held: it must not block and
	// must not call into the SFU. Nil drops events.
	OnEvent func(Event)
	// ManualSubscribe: receive no track until asked (Participant.Subscribe)
	// instead of every track in the room.
	ManualSubscribe bool
	// Codecs are the video codecs the client decodes, as MIME subtypes
	// ("VP8", "AV1"); nil: the codecs its subscriber answers accept
	// (backup_answer.go), any before the first. A track in a codec outside
	// the list is received as its backup codec, or not at all
	// (subscription.go; the client is told, CodecUnsupported).
	Codecs []string
	// Since is when the participant's session began (zero: now). A session
	// that resumes keeps its participant; one that moved to another node
	// starts anew there, so the newest session of an identity is the one
	// with the latest Since (see the trunk's duplicate resolution).
	Since time.Time
	// KeepWhenReplaced (a remote participant) keeps the participant and
	// its tracks when a local join of its identity replaces it: it leaves
	// the room's list at once, but its subscribers keep its media until its
	// owner calls Replace, once the new session's media reaches them.
	KeepWhenReplaced bool
	// Replaces (a remote participant) is the local participant of its
	// identity that it may replace, nil for none: a trunk decides from a
	// look at the room that its mirror is the newer session, and a local
	// session that joined since that look (the participant moving here)
	// must not be replaced by a mirror of the session it left. The join is
	// refused with ErrLocalSession instead. A local join replaces any
	// participant of its identity.
	Replaces *Participant
}

// Participant is one member of a room.
type Participant struct {
	id, name       string
	canPub, canSub bool
	perms          permissions // an operator's changes to the grants (admin.go)
	remote         bool
	keepReplaced   bool // ParticipantParams.KeepWhenReplaced
	onEvent        func(Event)
	since          time.Time
	room           *Room
	sfu            *SFU
	stats          *counters
	log            *slog.Logger

	closing atomic.Bool
	done    chan struct{}
	// lastFeedback: unix ns of the last RTCP from the subscriber
	// connection (feedback.go).
	lastFeedback atomic.Int64
	// attached: the participant's client is connected to its session
	// (feedback.go).
	attached atomic.Bool

	mu         sync.Mutex
	tracks     []*Receiver
	prefs      map[string]Quality
	mutedKinds map[webrtc.RTPCodecType]bool
	pub        *publisher
	ext        participantExt
	subs       subscription

	sub *subscriber // set at join for participants that may subscribe
}

// ID is the participant's identity.
func (p *Participant) ID() string { return p.id }

// Name is the display name.
func (p *Participant) Name() string { return p.name }

// Since is when the participant's session began.
func (p *Participant) Since() time.Time { return p.since }

// Remote reports whether the participant is fed by code (a trunk's mirror
// of another node's participant) rather than by a browser.
func (p *Participant) Remote() bool { return p.remote }

// Room is the room the participant is in.
func (p *Participant) Room() *Room { return p.room }

// Done is closed once the participant has left and its resources are freed.
func (p *Participant) Done() <-chan struct{} { return p.done }

// Info describes the participant and its tracks.
func (p *Participant) Info() ParticipantInfo {
	info := ParticipantInfo{ID: p.id, Name: p.name, Publish: p.mayPublish(), Subscribe: p.maySubscribe(), Tracks: []TrackInfo{}}
	for _, r := range p.Tracks() {
		info.Tracks = append(info.Tracks, r.Info())
	}
	return info
}

// Tracks are the participant's published tracks.
func (p *Participant) Tracks() []*Receiver {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tracks)
}

func (p *Participant) emit(ev Event) {
	if p.onEvent != nil && !p.closing.Load() {
		p.onEvent(ev)
	}
}

// newTrackID makes a room-unique track ID without coordination.
func newTrackID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "TR_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// PublishTrack adds a track the participant sends. Browser tracks arrive
// this way from the publisher connection; a trunk uses it to inject a
// remote track, then feeds packets with Receiver.WriteRTP.
func (p *Participant) PublishTrack(tp TrackParams) (*Receiver, error) {
	if !p.mayPublish() {
		return nil, ErrForbidden
	}
	if tp.ID == "" {
		tp.ID = newTrackID()
	}
	if tp.Codec.ClockRate == 0 {
		return nil, fmt.Errorf("sfu: track %s: codec without clock rate", tp.ID)
	}
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	tp.Muted = tp.Muted || (p.mutedKinds[tp.Kind] && !isScreen(tp.Source))
	r := newReceiver(p, tp, p.sfu.cfg.PacketCache, time.Now())
	p.tracks = append(p.tracks, r)
	p.mu.Unlock()
	p.room.publish(p, r)
	return r, nil
}

// UnpublishTrack ends a published track.
func (p *Participant) UnpublishTrack(r *Receiver) {
	p.mu.Lock()
	i := slices.Index(p.tracks, r)
	if i >= 0 {
		p.tracks = slices.Delete(p.tracks, i, i+1)
	}
	p.mu.Unlock()
	if i >= 0 {
		p.room.unpublish(p, r)
	}
}

// Prefer sets the view preference for another participant's video.
func (p *Participant) Prefer(participantID string, q Quality) {
	p.mu.Lock()
	p.prefs[participantID] = q
	p.mu.Unlock()
	p.room.kick()
}

func (p *Participant) preference(participantID string) Quality {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q, ok := p.prefs[participantID]; ok {
		return q
	}
	return QualityLarge
}

// SetMuted records that the participant muted or unmuted its own tracks of
// a kind (camera and microphone: a screen share ends by unpublishing);
// subscribers stop or resume receiving them and are told.
func (p *Participant) SetMuted(kind webrtc.RTPCodecType, muted bool) {
	p.mu.Lock()
	p.mutedKinds[kind] = muted
	tracks := slices.Clone(p.tracks)
	p.mu.Unlock()
	for _, r := range tracks {
		if r.kind == kind && !isScreen(r.source) && r.setMuted(muted) && r.backupFor == "" {
			p.room.broadcast(p, TrackMuted{ParticipantID: p.id, TrackID: r.id, Kind: kindString(kind), Muted: muted})
		}
	}
	p.room.kick()
}

// HandleOffer takes a publisher-connection offer and returns the answer.
func (p *Participant) HandleOffer(sdp string) (string, error) {
	if !p.mayPublish() || p.remote {
		return "", ErrForbidden
	}
	pub, err := p.publisher()
	if err != nil {
		return "", err
	}
	return pub.handleOffer(sdp)
}

// HandleAnswer takes the answer to the last subscriber-connection offer.
func (p *Participant) HandleAnswer(sdp string) error {
	if p.sub == nil {
		return ErrForbidden
	}
	return p.sub.handleAnswer(sdp)
}

// AddICECandidate adds a remote candidate to one of the connections; nil
// marks the end of candidates.
func (p *Participant) AddICECandidate(t Target, c *webrtc.ICECandidateInit) error {
	switch t {
	case TargetPublisher:
		p.mu.Lock()
		pub := p.pub
		p.mu.Unlock()
		if pub == nil {
			return fmt.Errorf("sfu: candidate for a publisher connection that has no offer yet")
		}
		return pub.addCandidate(c)
	case TargetSubscriber:
		if p.sub == nil {
			return ErrForbidden
		}
		return p.sub.addCandidate(c)
	}
	return fmt.Errorf("sfu: unknown target %q", t)
}

func (p *Participant) publisher() (*publisher, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing.Load() {
		return nil, ErrClosed
	}
	if p.pub == nil {
		pub, err := newPublisher(p)
		if err != nil {
			return nil, err
		}
		p.pub = pub
	}
	return p.pub, nil
}

// discard frees a participant that never made it into its room. Marking it
// closing first keeps pion's state callbacks from running close.
func (p *Participant) discard() {
	p.closing.Store(true)
	if p.sub != nil {
		p.sub.close()
	}
	close(p.done)
}

// Close makes the participant leave and frees its connections.
func (p *Participant) Close() { p.close(nil) }

// Replace closes a participant that a newer session of its identity
// replaced (KeepWhenReplaced): its tracks go, and nobody sees a leave.
func (p *Participant) Replace() { p.close(ErrReplaced) }

// close runs once; later calls return at once (they may come from pion
// callbacks that the first call is waiting for).
func (p *Participant) close(reason error) {
	if !p.closing.CompareAndSwap(false, true) {
		return
	}
	p.log.Debug("participant closes", "remote", p.remote, "reason", reason)
	p.room.remove(p)
	p.mu.Lock()
	tracks := p.tracks
	p.tracks = nil
	pub := p.pub
	p.mu.Unlock()
	for _, r := range tracks {
		p.room.unpublish(p, r)
	}
	if p.sub != nil {
		p.sub.close()
	}
	if pub != nil {
		pub.close()
	}
	// A replaced participant did not leave: its identity is still in the
	// room (it moved, resumed elsewhere or reconnected), so the others must
	// not see a leave, only its old tracks go.
	if !errors.Is(reason, ErrReplaced) {
		p.room.broadcast(p, ParticipantLeft{ParticipantID: p.id})
	}
	p.room.forgetSpeaker(p.id)
	if reason != nil && p.onEvent != nil {
		p.onEvent(Closed{Reason: reason})
	}
	close(p.done)
	p.room.leaveDone()
}
