package signaling

import (
	"fmt"
	"strings"

	"github.com/qrtn/qrtn/sfu"
)

// codecErrorOut is the error message of a track the client can receive in
// no codec (PROTOCOL.md, "Backup codecs"): an error message with the track
// it is about.
type codecErrorOut struct {
	Type        string   `json:"type"`
	Code        string   `json:"code"`
	Message     string   `json:"message"`
	Participant string   `json:"participant"`
	Track       string   `json:"track"`
	Codecs      []string `json:"codecs"`
	Decodes     []string `json:"decodes"`
}

func codecUnsupportedOut(e sfu.CodecUnsupported) codecErrorOut {
	decodes := "nothing the node forwards"
	if e.Decodes == nil {
		decodes = "an unknown set"
	} else if len(e.Decodes) > 0 {
		decodes = strings.ToUpper(strings.Join(e.Decodes, ", "))
	}
	msg := fmt.Sprintf("%s's video %s is sent in %s; this client decodes %s, so it receives none of it",
		e.ParticipantID, e.TrackID, strings.Join(e.Codecs, " and "), decodes)
	return codecErrorOut{Type: "error", Code: "unsupported_codec", Message: msg, Participant: e.ParticipantID,
		Track: e.TrackID, Codecs: nonNil(e.Codecs), Decodes: nonNil(e.Decodes)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
