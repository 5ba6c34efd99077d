package signaling

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/qrtn/qrtn/sfu"
)

// TestUnsupportedCodecMessage: a track the client can receive in no codec
// reaches it as an error naming the track and the codecs on both sides.
func TestUnsupportedCodecMessage(t *testing.T) {
	var m struct {
		Type, Code, Message, Participant, Track string
		Codecs, Decodes                         []string
	}
	b := encodeEvent(sfu.CodecUnsupported{ParticipantID: "ann", TrackID: "TR_1", Codecs: []string{"H264"}, Decodes: []string{"vp8"}})
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "error" || m.Code != "unsupported_codec" || m.Participant != "ann" || m.Track != "TR_1" ||
		!slices.Equal(m.Codecs, []string{"H264"}) || !slices.Equal(m.Decodes, []string{"vp8"}) ||
		!strings.Contains(m.Message, "H264") || !strings.Contains(m.Message, "VP8") {
		t.Errorf("message %s", b)
	}
}
