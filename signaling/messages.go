package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
)

// Decoding errors, mapped to the protocol's error codes.
var (
	errUnknownType = errors.New("unknown message type")
	errBadMessage  = errors.New("bad message")
)

// inbound is any client message as it arrives; decode checks it against
// its type. Unknown fields are ignored so clients can grow.
type inbound struct {
	Type        string            `json:"type"`
	Token       string            `json:"token"`
	Mode        string            `json:"mode"`
	Room        string            `json:"room"`
	Target      string            `json:"target"`
	SDP         string            `json:"sdp"`
	Candidate   json.RawMessage   `json:"candidate"`
	Report      json.RawMessage   `json:"report"` // quality (quality.go)
	Participant string            `json:"participant"`
	Layer       string            `json:"layer"`
	Kind        string            `json:"kind"`
	Muted       *bool             `json:"muted"`
	Track       string            `json:"track"`
	Sources     map[string]string `json:"sources"`
	Data        bool              `json:"data"`
	// Selective subscription and backup codecs (subscribe.go).
	AutoSubscribe *bool             `json:"auto_subscribe"`
	Codecs        []string          `json:"codecs"`
	Subscribe     *bool             `json:"subscribe"`
	Backups       map[string]string `json:"backups"`
	// FPS caps the frame rate of a prefer message's video (prefer_fps.go).
	FPS *float64 `json:"fps"`
}

// Client messages after decoding.
type (
	joinMsg struct {
		token, mode, room string
		data              bool     // data channels wanted
		manual            bool     // auto_subscribe: false
		codecs            []string // video codecs the client decodes; nil: any
	}
	offerMsg struct {
		sdp     string
		sources map[string]string // mid → track source
		backups map[string]string // backup mid → primary mid
	}
	answerMsg    struct{ sdp string }
	candidateMsg struct {
		target    string
		candidate *webrtc.ICECandidateInit // nil: end of candidates
	}
	preferMsg struct {
		participant, layer, track string
		fps                       float64 // with hasFPS: the frame-rate cap (0: none)
		hasFPS                    bool
	}
	muteMsg struct {
		kind  string
		muted bool
	}
	leaveMsg   struct{}
	resumeMsg  struct{ token string }
	restartMsg struct{ target string }
)

// maxSDP bounds an SDP; frames are limited anyway, this keeps a clear error.
const maxSDP = 60 << 10

// decode parses one client frame into one of the message types above. It
// also returns the frame's type field, when there was one.
func decode(b []byte) (string, any, error) {
	var m inbound
	if err := json.Unmarshal(b, &m); err != nil {
		return "", nil, fmt.Errorf("%w: not a JSON object: %v", errBadMessage, err)
	}
	msg, err := m.check()
	return m.Type, msg, err
}

func (m *inbound) check() (any, error) {
	bad := func(format string, args ...any) (any, error) {
		return nil, fmt.Errorf("%w: %s: %s", errBadMessage, m.Type, fmt.Sprintf(format, args...))
	}
	switch m.Type {
	case "join":
		if m.Token == "" {
			return bad("token missing")
		}
		if m.Mode != "" && m.Mode != "meeting" && m.Mode != "live" {
			return bad("mode %q", m.Mode)
		}
		if err := checkCodecs(m.Codecs); err != nil {
			return bad("%v", err)
		}
		return joinMsg{token: m.Token, mode: m.Mode, room: m.Room, data: m.Data,
			manual: m.AutoSubscribe != nil && !*m.AutoSubscribe, codecs: m.Codecs}, nil
	case "offer", "answer":
		want := map[string]string{"offer": "publisher", "answer": "subscriber"}[m.Type]
		if m.Target != want {
			return bad("target must be %q", want)
		}
		if m.SDP == "" || len(m.SDP) > maxSDP {
			return bad("sdp missing or too long")
		}
		if m.Type == "offer" {
			if len(m.Sources) > 32 {
				return bad("more than 32 sources")
			}
			for mid, src := range m.Sources {
				if len(mid) > 64 || !sfu.ValidSource(src) {
					return bad("source %.20q of mid %.20q: want camera|microphone|screen|screen_audio", src, mid)
				}
			}
			if err := checkBackups(m.Backups); err != nil {
				return bad("%v", err)
			}
			return offerMsg{sdp: m.SDP, sources: m.Sources, backups: m.Backups}, nil
		}
		return answerMsg{sdp: m.SDP}, nil
	case "candidate":
		if m.Target != "publisher" && m.Target != "subscriber" {
			return bad("target %q", m.Target)
		}
		if len(m.Candidate) == 0 {
			return bad("candidate missing")
		}
		msg := candidateMsg{target: m.Target}
		if !bytes.Equal(bytes.TrimSpace(m.Candidate), []byte("null")) {
			var c webrtc.ICECandidateInit
			if err := json.Unmarshal(m.Candidate, &c); err != nil {
				return bad("candidate: %v", err)
			}
			msg.candidate = &c
		}
		return msg, nil
	case "prefer":
		if m.Participant == "" || (m.Layer != "large" && m.Layer != "small" && m.Layer != "off") {
			return bad("participant and layer large|small|off required")
		}
		if len(m.Track) > 256 {
			return bad("track id too long")
		}
		msg := preferMsg{participant: m.Participant, layer: m.Layer, track: m.Track}
		if m.FPS != nil {
			if *m.FPS < 0 || *m.FPS > sfu.MaxPreferFPS {
				return bad("fps %v: 0 (no cap) to %d", *m.FPS, sfu.MaxPreferFPS)
			}
			msg.fps, msg.hasFPS = *m.FPS, true
		}
		return msg, nil
	case "mute":
		if (m.Kind != "audio" && m.Kind != "video") || m.Muted == nil {
			return bad("kind audio|video and muted required")
		}
		return muteMsg{kind: m.Kind, muted: *m.Muted}, nil
	case "subscribe":
		return m.checkSubscribe()
	case "quality":
		return decodeQuality(m.Report)
	case "leave":
		return leaveMsg{}, nil
	case "resume":
		if m.Token == "" {
			return bad("token missing")
		}
		return resumeMsg{token: m.Token}, nil
	case "restart_ice":
		if m.Target != "publisher" && m.Target != "subscriber" {
			return bad("target %q", m.Target)
		}
		return restartMsg{target: m.Target}, nil
	case "":
		return bad("type missing")
	}
	return nil, fmt.Errorf("%w: %.40q", errUnknownType, m.Type)
}
