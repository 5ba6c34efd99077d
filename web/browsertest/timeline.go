package browsertest

import (
	"fmt"
	"strings"
)

// Timeline renders a page's snapshots, one line each, so that a failure
// says where media stopped: what the page itself encoded and sent (its
// outbound video, every simulcast layer summed), what arrived of
// participant's video (packets) and what Chromium made of it (frames
// decoded, freezes), and how long the stats evaluation took (a renderer
// too busy to answer is a starved page, not a stalled path). Figures are
// differences from the snapshot before.
func Timeline(participant string, snaps []Stats) string {
	var b strings.Builder
	if len(snaps) == 0 {
		return ""
	}
	b.WriteString("     t   eval | out frames pkts  limit | in pkts lost frames freezes | audio B")
	first := snaps[0].At
	var prev Stats
	for i, s := range snaps {
		v, _ := s.Track(participant, "video")
		a, _ := s.Track(participant, "audio")
		pv, _ := prev.Track(participant, "video")
		pa, _ := prev.Track(participant, "audio")
		of, op, limit := outboundVideo(s)
		pof, pop, _ := outboundVideo(prev)
		if i == 0 {
			pv, pa, pof, pop = v, a, of, op
		}
		fmt.Fprintf(&b, "\n%6.2f %5dms | %10d %5d %6s | %7d %4d %6d %7d | %7d",
			s.At.Sub(first).Seconds(), s.Took.Milliseconds(), of-pof, op-pop, limit,
			v.PacketsReceived-pv.PacketsReceived, v.PacketsLost-pv.PacketsLost,
			v.FramesDecoded-pv.FramesDecoded, v.FreezeCount-pv.FreezeCount,
			a.BytesReceived-pa.BytesReceived)
		prev = s
	}
	return b.String()
}

// outboundVideo sums a page's outbound video frames and packets over its
// simulcast layers and returns the first non-"none" quality limitation.
func outboundVideo(s Stats) (frames, packets int64, limit string) {
	limit = "-"
	for _, o := range s.Publishing {
		if o.Kind != "video" {
			continue
		}
		frames += o.FramesEncoded
		packets += o.PacketsSent
		if o.QualityLimitationReason != "" && o.QualityLimitationReason != "none" {
			limit = o.QualityLimitationReason
		}
	}
	return frames, packets, limit
}
