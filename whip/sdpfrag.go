package whip

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// sdpFrag is a trickle-ice-sdpfrag body (RFC 8840): ICE credentials and
// candidates, by media section.
type sdpFrag struct {
	ufrag, pwd string
	cands      []webrtc.ICECandidateInit
	end        bool
}

// maxFragCandidates bounds the candidates of one PATCH.
const maxFragCandidates = 64

// parseFrag reads the lines WHIP clients send: a=ice-ufrag, a=ice-pwd,
// m= and a=mid (which section the candidates belong to), a=candidate and
// a=end-of-candidates. Other lines are ignored.
func parseFrag(body string) (sdpFrag, error) {
	var f sdpFrag
	mid, mline := "", -1
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "m="):
			mline++
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			if len(f.cands) >= maxFragCandidates {
				return f, fmt.Errorf("more than %d candidates", maxFragCandidates)
			}
			c := webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a=")}
			if mid != "" {
				c.SDPMid = &mid
			}
			if mline >= 0 {
				idx := uint16(mline)
				c.SDPMLineIndex = &idx
			}
			f.cands = append(f.cands, c)
		case line == "a=end-of-candidates":
			f.end = true
		}
	}
	if len(f.cands) == 0 && !f.end && f.ufrag == "" {
		return f, errors.New("the fragment holds no candidate")
	}
	return f, nil
}
