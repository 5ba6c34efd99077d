package sfu

import (
	"errors"

	"github.com/pion/webrtc/v4"
)

// Errors callers branch on.
var (
	ErrRoomFull  = errors.New("sfu: room is full")
	ErrForbidden = errors.New("sfu: not permitted by the participant's grants")
	ErrClosed    = errors.New("sfu: closed")
	// ErrReplaced is the Closed reason of a participant whose identity
	// joined the room again.
	ErrReplaced = errors.New("sfu: replaced by a newer join with the same identity")
	// ErrLocalSession refuses a remote participant (a trunk's mirror)
	// whose identity is held by a local participant other than the one
	// it was allowed to replace (ParticipantParams.Replaces).
	ErrLocalSession = errors.New("sfu: the identity has a local session here")
	// ErrConnectionFailed is the Closed reason of a participant whose
	// PeerConnection failed (ICE failed, or disconnected past the timeout).
	ErrConnectionFailed = errors.New("sfu: peer connection failed")
)

// Target names one of a participant's two PeerConnections.
type Target string

// The two PeerConnections of a participant.
const (
	TargetPublisher  Target = "publisher"
	TargetSubscriber Target = "subscriber"
)

// Quality is a subscriber's view preference for a video track.
type Quality int8

// View preferences: a thumbnail wants the small layer, the main view the
// large one.
const (
	QualitySmall Quality = iota
	QualityMedium
	QualityLarge
	// QualityOff asks for no video at all (a tile that is hidden, or a
	// participant outside the last N speakers): the subscriber gets none,
	// and a layer nobody else watches is paused at the publisher.
	QualityOff Quality = -1
)

// ParticipantInfo describes a participant to others.
type ParticipantInfo struct {
	ID        string
	Name      string
	Publish   bool
	Subscribe bool
	Tracks    []TrackInfo
}

// TrackInfo describes a published track.
type TrackInfo struct {
	ID     string
	Kind   string   // "audio" or "video"
	Layers []string // simulcast RIDs, small first; empty without simulcast
	Muted  bool
	Source string // SourceCamera, SourceScreen, ...
	Codec  string // MIME subtype: "VP8", "H264", "opus", ...
	// BackupFor names the track this one is a backup codec of; clients
	// are not told of backups (they receive one under the primary's ID).
	BackupFor string
}

// Event is something a participant's client is told about. Events are
// delivered through ParticipantParams.OnEvent.
type Event interface{ isEvent() }

// ParticipantJoined: another participant joined the room.
type ParticipantJoined struct{ Participant ParticipantInfo }

// ParticipantLeft: another participant left the room.
type ParticipantLeft struct{ ParticipantID string }

// TrackPublished: a remote track is available (and, for a participant that
// may subscribe, is being added to its subscriber connection).
type TrackPublished struct {
	ParticipantID string
	Track         TrackInfo
}

// TrackUnpublished: a remote track ended.
type TrackUnpublished struct{ ParticipantID, TrackID string }

// TrackMuted: a remote track was muted or unmuted by its publisher.
type TrackMuted struct {
	ParticipantID, TrackID, Kind string
	Muted                        bool
}

// Offer is a subscriber-connection offer the client must answer.
type Offer struct{ SDP string }

// Candidate is a local ICE candidate for one of the participant's
// connections; nil Candidate means gathering is complete.
type Candidate struct {
	Target    Target
	Candidate *webrtc.ICECandidateInit
}

// LayerChanged: the layer the participant receives of a remote video track
// changed ("small", "medium", "large" or "paused"). Reason says why the
// selector chose it: "bandwidth" (the subscriber's estimate), "preference"
// (its view), "dynacast" (up to a layer dynacast had paused at the
// publisher: the switch waited for it to be sent again), "unavailable"
// (the layer stopped arriving: the publisher or a trunk stopped it),
// "mute"; empty when the forwarder moved on its own.
type LayerChanged struct{ ParticipantID, TrackID, Layer, Reason string }

// Speakers: the active speakers changed (loudest first; empty in silence).
type Speakers struct{ ParticipantIDs []string }

// PublishLayers is dynacast: the participant should keep sending only these
// simulcast layers (RIDs) of its track, identified by ID and by the
// transceiver's mid in its publisher connection.
type PublishLayers struct {
	TrackID, Mid string
	Layers       []string
}

// CodecUnsupported: a remote video track the participant subscribes to is
// sent in no codec its client decodes (neither the primary nor a backup,
// subscription.go), so it receives nothing of it. Codecs are the codecs
// the track is sent in (MIME subtypes, the primary first), Decodes what the
// client decodes as far as the node knows (declared, or read from its
// answers). Sent once, until the track can be received again.
type CodecUnsupported struct {
	ParticipantID, TrackID string
	Codecs, Decodes        []string
}

// Closed: the SFU removed the participant (Reason says why). The
// participant is already gone from the room when this arrives.
type Closed struct{ Reason error }

func (ParticipantJoined) isEvent() {}
func (ParticipantLeft) isEvent()   {}
func (TrackPublished) isEvent()    {}
func (TrackUnpublished) isEvent()  {}
func (TrackMuted) isEvent()        {}
func (Offer) isEvent()             {}
func (Candidate) isEvent()         {}
func (LayerChanged) isEvent()      {}
func (Speakers) isEvent()          {}
func (PublishLayers) isEvent()     {}
func (Closed) isEvent()            {}
func (CodecUnsupported) isEvent()  {}

// layerName names layer i of rids for clients.
func layerName(rids []string, i int) string {
	if i < 0 {
		return "paused"
	}
	if i < len(rids) {
		switch rids[i] {
		case "s", "q":
			return "small"
		case "m", "h":
			return "medium"
		case "l", "f":
			return "large"
		}
	}
	switch {
	case i == len(rids)-1 || len(rids) == 0:
		return "large"
	case i == 0:
		return "small"
	}
	return "medium"
}

// ridRank orders simulcast RIDs from small to large; unknown RIDs keep
// their offer order between the known ones.
func ridRank(rid string) int {
	switch rid {
	case "q", "s":
		return 0
	case "h", "m":
		return 1
	case "f", "l":
		return 2
	}
	return 1
}

// KindString names a pion codec type as clients do.
func kindString(k webrtc.RTPCodecType) string {
	if k == webrtc.RTPCodecTypeAudio {
		return "audio"
	}
	return "video"
}
