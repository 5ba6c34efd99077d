package sfutest

import (
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// wireShaper is the publisher's innermost interceptor: it drops one in
// loss of the media packets of each stream (after the NACK responder kept
// them, so that NACKs are answered), and rewrites the rid that pion's
// responder copies into RTX packets into repaired-rid (RFC 8852), as
// browsers send it, unless keepRID.
type wireShaper struct {
	loss    int
	keepRID bool
}

// NewInterceptor returns the shaper for one PeerConnection.
func (w wireShaper) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &shaper{cfg: w}, nil
}

type shaper struct {
	interceptor.NoOp
	cfg wireShaper
}

// BindLocalStream shapes one local stream.
func (s *shaper) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var ridID, rridID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		case sdp.SDESRepairRTPStreamIDURI:
			rridID = uint8(e.ID)
		}
	}
	var n atomic.Uint64
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		switch {
		case h.SSRC == info.SSRC && s.cfg.loss > 0 && isVideo(info):
			if n.Add(1)%uint64(s.cfg.loss) == 0 {
				return len(payload), nil
			}
		case h.SSRC == info.SSRCRetransmission && h.SSRC != 0 && !s.cfg.keepRID && ridID != 0 && rridID != 0:
			if rid := h.GetExtension(ridID); rid != nil {
				c := h.Clone()
				_ = c.DelExtension(ridID)
				_ = c.SetExtension(rridID, rid)
				h = &c
			}
		}
		return w.Write(h, payload, a)
	})
}

func isVideo(info *interceptor.StreamInfo) bool {
	return len(info.MimeType) > 6 && info.MimeType[:6] == "video/"
}
