package sfu

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// The operator's actions on participants (the room API's seams): remove,
// mute a track, change grants while connected, and data from the server.

// ErrRemoved is the Closed reason of a participant an operator removed.
var ErrRemoved = errors.New("sfu: removed by an operator")

// ErrNoSubscriber: subscribing cannot be granted to a participant that
// joined without a subscriber connection; it must join again.
var ErrNoSubscriber = errors.New("sfu: the participant joined without a subscriber connection; it must rejoin to subscribe")

// ErrUnknownTrack: no published track with that ID.
var ErrUnknownTrack = errors.New("sfu: no such track")

// permissions are an operator's changes to a participant's grants; until
// the first change the join's grants hold.
type permissions struct {
	set                  atomic.Bool
	publish, sub, noData atomic.Bool
}

// Permissions are what a participant may do.
type Permissions struct {
	Publish   bool
	Subscribe bool
	// Data: may send data messages (for the data channel; the SFU only
	// records it).
	Data bool
}

// PermissionsChanged tells a participant that an operator changed its
// grants.
type PermissionsChanged struct{ Permissions }

// ServerData is a message an operator sends to participants of a room.
// Payload is the operator's text, unchanged.
type ServerData struct {
	Topic, Payload string
}

func (PermissionsChanged) isEvent() {}
func (ServerData) isEvent()         {}

func (p *Participant) mayPublish() bool {
	if p.perms.set.Load() {
		return p.perms.publish.Load()
	}
	return p.canPub
}

func (p *Participant) maySubscribe() bool {
	if p.perms.set.Load() {
		return p.perms.sub.Load()
	}
	return p.canSub
}

// Permissions returns what the participant may do now.
func (p *Participant) Permissions() Permissions {
	return Permissions{Publish: p.mayPublish(), Subscribe: p.maySubscribe(), Data: !p.perms.noData.Load()}
}

// Remove makes the participant leave; its client is told ErrRemoved.
func (p *Participant) Remove() { p.close(ErrRemoved) }

// SetPermissions changes the participant's grants while it is connected.
// Revoking publish unpublishes its tracks (a client publishes again after
// a later grant); revoking subscribe stops every track it receives and
// granting it back subscribes it to the room's tracks again. The
// participant is told (PermissionsChanged).
func (p *Participant) SetPermissions(np Permissions) error {
	if np.Subscribe && p.sub == nil {
		return ErrNoSubscriber
	}
	p.perms.publish.Store(np.Publish)
	p.perms.sub.Store(np.Subscribe)
	p.perms.noData.Store(!np.Data)
	p.perms.set.Store(true)
	if !np.Publish {
		for _, r := range p.Tracks() {
			p.UnpublishTrack(r)
		}
	}
	if p.sub != nil {
		for _, o := range p.room.Participants() {
			if o == p {
				continue
			}
			p.sub.syncOwner(o)
		}
	}
	p.emit(PermissionsChanged{np})
	p.room.kick()
	return nil
}

// MuteTrack is an operator muting or unmuting one of the participant's
// tracks. The SFU mutes per kind, as clients do: every track of that kind
// follows. Subscribers and the participant itself are told (TrackMuted).
func (p *Participant) MuteTrack(trackID string, muted bool) error {
	var kind webrtc.RTPCodecType
	for _, r := range p.Tracks() {
		if r.id == trackID {
			kind = r.kind
		}
	}
	if kind == 0 {
		return fmt.Errorf("%w: %q", ErrUnknownTrack, trackID)
	}
	p.MuteKind(kind, muted)
	return nil
}

// MuteKind mutes or unmutes every track of a kind, telling the
// participant as well as the others.
func (p *Participant) MuteKind(kind webrtc.RTPCodecType, muted bool) {
	p.SetMuted(kind, muted)
	for _, r := range p.Tracks() {
		if r.kind == kind && r.backupFor == "" {
			p.emit(TrackMuted{ParticipantID: p.id, TrackID: r.id, Kind: kindString(kind), Muted: muted})
		}
	}
}

// SendData delivers an operator's message to the room's participants that
// joined through this node (all of them when to is empty, else those
// named) and returns how many got it.
func (r *Room) SendData(topic, payload string, to []string) int {
	want := map[string]bool{}
	for _, id := range to {
		want[id] = true
	}
	n := 0
	for _, p := range r.Participants() {
		if p.remote || (len(want) > 0 && !want[p.id]) {
			continue
		}
		p.emit(ServerData{Topic: topic, Payload: payload})
		n++
	}
	return n
}

// LocalDescription is the current local SDP of one of the participant's
// connections, with the candidates gathered so far ("" before the first
// negotiation). A WHIP session answers with it once gathering completes
// (its client cannot receive trickled candidates).
func (p *Participant) LocalDescription(t Target) string {
	var pc *webrtc.PeerConnection
	p.mu.Lock()
	if t == TargetPublisher && p.pub != nil {
		pc = p.pub.pc
	}
	p.mu.Unlock()
	if t == TargetSubscriber && p.sub != nil {
		pc = p.sub.pc
	}
	if pc == nil {
		return ""
	}
	if d := pc.LocalDescription(); d != nil {
		return d.SDP
	}
	return ""
}
