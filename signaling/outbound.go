package signaling

import (
	"encoding/json"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
)

// Error codes of PROTOCOL.md. They are stable: clients branch on them.
const (
	CodeBadToken    = "bad_token"
	CodeForbidden   = "forbidden"
	CodeNotJoined   = "not_joined"
	CodeBadMessage  = "bad_message"
	CodeUnknownType = "unknown_type"
	CodeTooLarge    = "too_large"
	CodeRateLimited = "rate_limited"
	CodeRoomFull    = "room_full"
	CodeInternal    = "internal"
)

type participantJSON struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Publish   bool        `json:"publish"`
	Subscribe bool        `json:"subscribe"`
	Tracks    []trackJSON `json:"tracks"`
}

type trackJSON struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Layers []string `json:"layers"`
	Muted  bool     `json:"muted"`
	Source string   `json:"source,omitempty"`
	Codec  string   `json:"codec,omitempty"`
}

func toParticipant(p sfu.ParticipantInfo) participantJSON {
	out := participantJSON{ID: p.ID, Name: p.Name, Publish: p.Publish, Subscribe: p.Subscribe, Tracks: []trackJSON{}}
	for _, t := range p.Tracks {
		if t.BackupFor == "" { // received under its primary's ID
			out.Tracks = append(out.Tracks, toTrack(t))
		}
	}
	return out
}

func toTrack(t sfu.TrackInfo) trackJSON {
	l := t.Layers
	if l == nil {
		l = []string{}
	}
	return trackJSON{ID: t.ID, Kind: t.Kind, Layers: l, Muted: t.Muted, Source: t.Source, Codec: t.Codec}
}

// outbound messages, one struct per server message of PROTOCOL.md.
type (
	joinedOut struct {
		Type         string            `json:"type"`
		Participant  participantJSON   `json:"participant"`
		Room         string            `json:"room"`
		Mode         string            `json:"mode"`
		Participants []participantJSON `json:"participants"`
		ICEServers   []sfu.ICEServer   `json:"iceServers"`
		// Node, Resume and Alternatives: session survival (sessions.go).
		Node         nodeJSON      `json:"node"`
		Resume       resumeJSON    `json:"resume"`
		Alternatives []Alternative `json:"alternatives"`
	}
	participantOut struct {
		Type        string          `json:"type"`
		Participant participantJSON `json:"participant"`
	}
	participantLeftOut struct {
		Type        string `json:"type"`
		Participant string `json:"participant"`
	}
	trackPublishedOut struct {
		Type        string    `json:"type"`
		Participant string    `json:"participant"`
		Track       trackJSON `json:"track"`
	}
	trackOut struct {
		Type        string `json:"type"`
		Participant string `json:"participant"`
		Track       string `json:"track"`
	}
	trackMutedOut struct {
		Type        string `json:"type"`
		Participant string `json:"participant"`
		Track       string `json:"track"`
		Kind        string `json:"kind"`
		Muted       bool   `json:"muted"`
	}
	sdpOut struct {
		Type   string `json:"type"`
		Target string `json:"target"`
		SDP    string `json:"sdp"`
	}
	candidateOut struct {
		Type      string                   `json:"type"`
		Target    string                   `json:"target"`
		Candidate *webrtc.ICECandidateInit `json:"candidate"`
	}
	layerOut struct {
		Type        string `json:"type"`
		Participant string `json:"participant"`
		Track       string `json:"track"`
		Layer       string `json:"layer"`
	}
	speakerOut struct {
		Type         string   `json:"type"`
		Participants []string `json:"participants"`
	}
	publishLayersOut struct {
		Type   string   `json:"type"`
		Track  string   `json:"track"`
		Mid    string   `json:"mid"`
		Layers []string `json:"layers"`
	}
	connectionQualityOut struct {
		Type         string              `json:"type"`
		Participants map[string]string   `json:"participants"`
		Paths        map[string]sfu.Path `json:"paths,omitempty"`
	}
	errorOut struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
)

// encodeEvent turns an SFU event into its protocol message; nil for events
// that are not sent as such (Closed).
func encodeEvent(ev sfu.Event) []byte {
	var v any
	switch e := ev.(type) {
	case sfu.Joined:
		ps := make([]participantJSON, 0, len(e.Participants))
		for _, p := range e.Participants {
			ps = append(ps, toParticipant(p))
		}
		ice := e.ICEServers
		if ice == nil {
			ice = []sfu.ICEServer{}
		}
		v = joinedOut{Type: "joined", Participant: toParticipant(e.Participant), Room: e.Room, Mode: e.Mode, Participants: ps, ICEServers: ice}
	case sfu.ParticipantJoined:
		v = participantOut{Type: "participant_joined", Participant: toParticipant(e.Participant)}
	case sfu.ParticipantLeft:
		v = participantLeftOut{Type: "participant_left", Participant: e.ParticipantID}
	case sfu.TrackPublished:
		v = trackPublishedOut{Type: "track_published", Participant: e.ParticipantID, Track: toTrack(e.Track)}
	case sfu.TrackUnpublished:
		v = trackOut{Type: "track_unpublished", Participant: e.ParticipantID, Track: e.TrackID}
	case sfu.TrackMuted:
		v = trackMutedOut{Type: "track_muted", Participant: e.ParticipantID, Track: e.TrackID, Kind: e.Kind, Muted: e.Muted}
	case sfu.Offer:
		v = sdpOut{Type: "offer", Target: "subscriber", SDP: e.SDP}
	case sfu.Candidate:
		v = candidateOut{Type: "candidate", Target: string(e.Target), Candidate: e.Candidate}
	case sfu.LayerChanged:
		v = layerOut{Type: "layer", Participant: e.ParticipantID, Track: e.TrackID, Layer: e.Layer}
	case sfu.Speakers:
		ids := e.ParticipantIDs
		if ids == nil {
			ids = []string{}
		}
		v = speakerOut{Type: "speaker", Participants: ids}
	case sfu.ConnectionQuality:
		v = connectionQualityOut{Type: "connection_quality", Participants: e.Participants, Paths: e.Paths}
	case sfu.PublishLayers:
		v = publishLayersOut{Type: "publish_layers", Track: e.TrackID, Mid: e.Mid, Layers: e.Layers}
	case sfu.CodecUnsupported:
		v = codecUnsupportedOut(e)
	default:
		if v = encodeAdminEvent(ev); v == nil {
			return nil
		}
	}
	b, _ := json.Marshal(v) // plain structs of strings: cannot fail
	return b
}

func encodeError(code, msg string) []byte {
	b, _ := json.Marshal(errorOut{Type: "error", Code: code, Message: msg})
	return b
}

// mustJSON marshals one of the fixed message structs above, which cannot
// fail: they hold only strings, bools and slices of them.
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
