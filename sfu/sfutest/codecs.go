package sfutest

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// RestrictVideo makes the subscriber connection accept only these video
// codecs (MIME types such as video/VP8; RTX follows its codec) in its next
// answers, as a browser page does with setCodecPreferences on its
// receivers; nil accepts all the client has again. The node is not told
// otherwise: it reads the answers.
func (c *Client) RestrictVideo(mimes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onlyVideo = mimes
}

// restrictAnswer applies RestrictVideo to the subscriber connection's video
// transceivers, between the offer and the answer.
func (c *Client) restrictAnswer() {
	c.mu.Lock()
	only, was := c.onlyVideo, c.restricted
	c.restricted = only != nil
	c.mu.Unlock()
	if only == nil {
		if was { // back to every codec the client has
			for _, t := range c.sub.GetTransceivers() {
				if t.Kind() == webrtc.RTPCodecTypeVideo {
					_ = t.SetCodecPreferences(nil)
				}
			}
		}
		return
	}
	var keep []webrtc.RTPCodecParameters
	pts := map[webrtc.PayloadType]bool{}
	for _, p := range c.subVideo {
		for _, m := range only {
			if strings.EqualFold(p.MimeType, m) {
				keep, pts[p.PayloadType] = append(keep, p), true
			}
		}
	}
	for _, p := range c.subVideo {
		if strings.EqualFold(p.MimeType, webrtc.MimeTypeRTX) && pts[webrtc.PayloadType(aptOf(p.SDPFmtpLine))] {
			keep = append(keep, p)
		}
	}
	for _, t := range c.sub.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			_ = t.SetCodecPreferences(keep)
		}
	}
}

func aptOf(fmtp string) int {
	v, ok := strings.CutPrefix(fmtp, "apt=")
	n := 0
	for i := 0; ok && i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		n = n*10 + int(v[i]-'0')
	}
	return n
}
