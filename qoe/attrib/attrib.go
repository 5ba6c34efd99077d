// Package attrib decides where a stall began: the publisher's uplink, a
// named trunk hop, a node on the route, or the subscriber's downlink. It
// reads the records of every hop along the stalled track's route around
// the stall's time and names the figures that crossed their thresholds as
// evidence.
//
// The rule. The figures of the uplink (as the publisher's node and client
// see it), of every trunk hop (as its sending node measures its own link)
// and of every node are local to that place: a trunk's loss or expired
// media does not show in another trunk's figures. Among the places whose
// figures crossed a threshold, the one whose trouble began first is named:
// trouble has after-effects elsewhere (a publisher back from an outage
// sends a key frame burst that a trunk may not carry in time). Places that
// crossed in the same sample period are told apart by how far they crossed.
// The subscriber's node has figures of the downlink's own: NACKed packets
// it had and resent, and packets it sent that the subscriber's receiver
// reports did not acknowledge for longer than the round trip (a cut or
// lossy downlink); these compete with the others. The subscriber's own
// figures are different: what it misses includes whatever was lost
// upstream, so they name the downlink only when no other place crossed a
// threshold. When nothing crossed one, the place closest to
// it is named, and the evidence says the case is weak.
//
// It is pure: records and thresholds in, a qoe.Cause out.
package attrib

import (
	"fmt"
	"slices"
	"strings"

	"github.com/qrtn/qrtn/qoe"
)

// Thresholds say when a figure counts as evidence.
type Thresholds struct {
	// A trunk hop: measured loss, media messages expired (deadline
	// missed, so never delivered), media dropped, RTT.
	HopLoss    float64
	HopExpired int
	// HopExpiryLoss: expired media counts against a hop only when the hop
	// lost at least this much in the same sample.
	HopExpiryLoss float64
	HopDrops      int
	HopRTTMs      float64
	// HopPTOs: probe timeouts in a sample (nothing acknowledged: a cut
	// link, whose loss cannot be measured while it lasts).
	HopPTOs int
	// The publisher: loss its node reported back, encoder frame rate
	// while limited (cpu or bandwidth), the node receiving nothing, or no
	// audio for a while.
	UplinkLoss     float64
	UplinkLimitFPS float64
	UplinkRTTMs    float64
	UplinkGapMs    int
	// The subscriber: loss it saw on the track or reported to its node,
	// and its RTT.
	DownlinkLoss  float64
	DownlinkRTTMs float64
	// DownlinkResent: NACKed packets the subscriber's node resent in a
	// sample (when it could resend most of those NACKed).
	DownlinkResent int
	// DownlinkAckLagMs: how far the subscriber's receiver reports lagged
	// behind what its node had sent, beyond the round trip the node
	// measured (packets on their way for that long did not arrive).
	DownlinkAckLagMs int
	// A node: CPU in use as a share of its cores, packets dropped from
	// its own queues.
	NodeCPU   float64
	NodeDrops int
}

// DefaultThresholds are tuned to what QRTP repairs: a trunk losing 10 %
// with FEC on is healthy, one that lets media expire by the dozen is not
// (a few messages of a key frame burst may expire on a healthy trunk after
// an outage elsewhere: docs/quality.md, attribution accuracy).
var DefaultThresholds = Thresholds{
	HopLoss: 0.25, HopExpired: 5, HopExpiryLoss: 0.05, HopDrops: 1, HopRTTMs: 1000, HopPTOs: 3,
	UplinkLoss: 0.1, UplinkLimitFPS: 8, UplinkRTTMs: 800, UplinkGapMs: 400,
	DownlinkLoss: 0.05, DownlinkRTTMs: 800, DownlinkResent: 20, DownlinkAckLagMs: 400,
	NodeCPU: 0.9, NodeDrops: 1,
}

// Input is everything recorded about one stall's track around its time.
// Slices hold the samples overlapping the window; maps are keyed by
// qoe.HopName or node name.
type Input struct {
	Stall qoe.Stall
	// Path runs from the publisher's node to the subscriber's node (one
	// node when both are on the same node).
	Path    []string
	Publish []qoe.PublishSample // the publisher's client, this track
	Up      []qoe.UpSample      // the publisher's node, this track
	Hops    map[string][]qoe.HopSample
	Nodes   map[string][]qoe.NodeSample
	Recv    []qoe.TrackSample // the subscriber's client, this track
	Down    []qoe.DownSample  // the subscriber's node, any of its tracks (one downlink)
}

// place is one candidate along the route with its evidence.
type place struct {
	where, hop, node string
	severity         float64 // ≥ 1: a figure crossed its threshold
	evidence         []clause
	// first is the start of the earliest sample with a figure over its
	// threshold (when severity ≥ 1).
	first int64
}

// clause is one figure that crossed its threshold. A long stall overlaps
// many samples: each figure is said once, from the sample where it was
// worst.
type clause struct {
	kind     string // the format: one clause per kind of figure
	text     string
	severity float64
}

// note adds a figure of a sample that began at at: its severity is
// value/threshold (higher is worse).
func (p *place) note(at int64, value, threshold float64, format string, args ...any) {
	if threshold <= 0 || value <= 0 {
		return
	}
	s := value / threshold
	if s >= 1 {
		p.say(format, s, args...)
		if p.severity < 1 || at < p.first {
			p.first = at
		}
	}
	p.severity = max(p.severity, s)
}

// say keeps a clause of severity s, or the worse of it and the one of the
// same kind said before.
func (p *place) say(format string, s float64, args ...any) {
	i := slices.IndexFunc(p.evidence, func(c clause) bool { return c.kind == format })
	if i < 0 || s > p.evidence[i].severity {
		p.merge(clause{kind: format, text: fmt.Sprintf(format, args...), severity: s})
	}
}

// merge keeps c, or the worse of it and the clause of its kind.
func (p *place) merge(c clause) {
	i := slices.IndexFunc(p.evidence, func(x clause) bool { return x.kind == c.kind })
	switch {
	case i < 0:
		p.evidence = append(p.evidence, c)
	case c.severity > p.evidence[i].severity:
		p.evidence[i] = c
	}
}

// text joins the evidence.
func (p *place) text() string {
	parts := make([]string, len(p.evidence))
	for i, c := range p.evidence {
		parts[i] = c.text
	}
	return strings.Join(parts, "; ")
}

// sameMoment: places whose trouble began this close together (one sample
// period) are told apart by how far their figures crossed.
const sameMoment = 1500

// earlier says whether a's trouble is where the stall began rather than
// b's: it began first, or at the same moment and crossed further.
func earlier(a, b *place) bool {
	if d := a.first - b.first; d <= -sameMoment || d >= sameMoment {
		return d < 0
	}
	return a.severity > b.severity
}

// weakFloor: without evidence, a place is only named when one of its
// figures came at least this close to its threshold.
const weakFloor = 0.5

// Attribute names where the stall began.
func Attribute(in Input, th Thresholds) qoe.Cause {
	places := []*place{uplink(in, th)}
	for i, n := range in.Path {
		places = append(places, nodePlace(n, in.Nodes[n], th))
		if i+1 < len(in.Path) {
			places = append(places, hopPlace(n, in.Path[i+1], in.Hops[qoe.HopName(n, in.Path[i+1])], th))
		}
	}
	down := downlink(in, th)
	places = append(places, down)
	var named *place
	for _, p := range places[:len(places)-1] {
		if p.severity >= 1 && (named == nil || earlier(p, named)) {
			named = p
		}
	}
	// Packets the subscriber's node resent on NACK, or sent without the
	// subscriber's reports acknowledging them, were lost after it: that
	// evidence is the downlink's own and competes with the others.
	if local := downlinkLocal(in, th); local.severity >= 1 && (named == nil || earlier(local, named)) {
		for _, c := range down.evidence {
			local.merge(c)
		}
		down = local
		named = down
	}
	if named == nil && down.severity >= 1 {
		named = down
	}
	if named != nil {
		return qoe.Cause{Where: named.where, Hop: named.hop, Node: named.node, Evidence: named.text()}
	}
	best := places[len(places)-1]
	for _, p := range places {
		if p.severity > best.severity {
			best = p
		}
	}
	ev := "weak: no figure on the route crossed its threshold"
	if best.severity < weakFloor {
		best = places[len(places)-1]
		ev += "; every hop and node was well within, so the subscriber's own side is left"
	} else {
		ev += fmt.Sprintf("; closest here (%.0f%% of a threshold)", 100*best.severity)
	}
	return qoe.Cause{Where: best.where, Hop: best.hop, Node: best.node, Evidence: ev}
}

func uplink(in Input, th Thresholds) *place {
	p := &place{where: qoe.WhereUplink}
	for _, s := range in.Publish {
		p.note(s.Start, s.FractionLost, th.UplinkLoss, "publisher's loss %.0f%% ≥ %.0f%%", 100*s.FractionLost, 100*th.UplinkLoss)
		p.note(s.Start, s.RTTMs, th.UplinkRTTMs, "publisher's RTT %.0f ms ≥ %.0f ms", s.RTTMs, th.UplinkRTTMs)
		if (s.Limitation == "cpu" || s.Limitation == "bandwidth") && s.Kind == "video" && s.FPS < th.UplinkLimitFPS {
			p.note(s.Start, 2, 1, "publisher's encoder limited by %s at %.1f fps < %.0f", s.Limitation, s.FPS, th.UplinkLimitFPS)
		}
	}
	// The publisher's node went without its audio for a while (video may
	// pause for want of viewers; audio never does unmuted), received
	// nothing of a track for a whole interval, or lost much of it for good.
	for _, s := range in.Up {
		p.note(s.Start, s.Loss, th.UplinkLoss, "%s never received %.0f%% of the publisher's newest video packets ≥ %.0f%%", s.Node, 100*s.Loss, 100*th.UplinkLoss)
		if s.Kind == "audio" {
			p.note(s.Start, float64(s.MaxGapMs), float64(th.UplinkGapMs), "%s received no audio from the publisher for %d ms ≥ %d ms", s.Node, s.MaxGapMs, th.UplinkGapMs)
		}
		if s.Packets == 0 {
			p.note(s.Start, 2, 1, "%s received no %s packets from the publisher for %.1f s", s.Node, s.Kind, float64(s.End-s.Start)/1000)
		}
	}
	return p
}

func hopPlace(from, to string, samples []qoe.HopSample, th Thresholds) *place {
	name := qoe.HopName(from, to)
	p := &place{where: qoe.WhereTrunk, hop: name}
	for _, s := range samples {
		if !s.Up {
			p.note(s.Start, 10, 1, "%s was down", name)
		}
		// A message's deadline runs from its first node, so media that
		// came in late from upstream may expire on a clean hop: expiry
		// counts against a hop only when the hop itself lost packets.
		if s.Loss >= th.HopExpiryLoss {
			p.note(s.Start, float64(s.Expired), float64(th.HopExpired), "%s: %d media messages expired (deadline missed) ≥ %d at %.0f%% loss", name, s.Expired, th.HopExpired, 100*s.Loss)
		}
		p.note(s.Start, s.Loss, th.HopLoss, "%s: loss %.0f%% ≥ %.0f%%", name, 100*s.Loss, 100*th.HopLoss)
		p.note(s.Start, float64(s.MediaDrops), float64(th.HopDrops), "%s: %d media messages dropped ≥ %d", name, s.MediaDrops, th.HopDrops)
		p.note(s.Start, s.RTTMs, th.HopRTTMs, "%s: RTT %.0f ms ≥ %.0f ms", name, s.RTTMs, th.HopRTTMs)
		// Probe timeouts need data in flight: a hop whose upstream went
		// quiet has none, so they are the hop's own.
		p.note(s.Start, float64(s.PTOs), float64(th.HopPTOs), "%s: %d probe timeouts (nothing acknowledged) ≥ %d", name, s.PTOs, th.HopPTOs)
	}
	return p
}

func nodePlace(name string, samples []qoe.NodeSample, th Thresholds) *place {
	p := &place{where: qoe.WhereNode, node: name}
	for _, s := range samples {
		if s.Cores > 0 {
			share := s.CPU / float64(s.Cores)
			p.note(s.Start, share, th.NodeCPU, "%s: CPU %.0f%% of %d cores ≥ %.0f%%", name, 100*share, s.Cores, 100*th.NodeCPU)
		}
		p.note(s.Start, float64(s.Drops), float64(th.NodeDrops), "%s: %d media packets dropped from its queues ≥ %d", name, s.Drops, th.NodeDrops)
	}
	return p
}

// downlinkLocal is the downlink's own evidence, as the subscriber's node
// measured it: NACKed packets it had and resent; packets it sent that the
// subscriber's receiver reports did not acknowledge for longer than the
// round trip; the round trip itself. None of these grows with trouble
// upstream of the node: what it never got, it neither resends nor sends.
func downlinkLocal(in Input, th Thresholds) *place {
	p := &place{where: qoe.WhereDownlink}
	for _, s := range in.Down {
		if s.NACKs > 0 && 2*s.Resent >= s.NACKs {
			p.note(s.Start, float64(s.Resent), float64(th.DownlinkResent), "%s resent %d of the %d packets the subscriber NACKed: they were lost after it", s.Node, s.Resent, s.NACKs)
		}
		lag := float64(s.AckLagMs) - s.RTTMs
		p.note(s.Start, lag, float64(th.DownlinkAckLagMs), "the subscriber's receiver reports lagged %d ms behind what %s sent (RTT %.0f ms): packets it sent did not arrive", s.AckLagMs, s.Node, s.RTTMs)
		p.note(s.Start, s.RTTMs, th.DownlinkRTTMs, "%s measured an RTT of %.0f ms to the subscriber ≥ %.0f ms", s.Node, s.RTTMs, th.DownlinkRTTMs)
	}
	return p
}

func downlink(in Input, th Thresholds) *place {
	p := &place{where: qoe.WhereDownlink}
	for _, s := range in.Recv {
		if n := s.PacketsLost + s.PacketsReceived; n > 0 {
			f := float64(s.PacketsLost) / float64(n)
			p.note(s.Start, f, th.DownlinkLoss, "subscriber lost %.0f%% of the track's packets ≥ %.0f%%", 100*f, 100*th.DownlinkLoss)
		}
		p.note(s.Start, s.RTTMs, th.DownlinkRTTMs, "subscriber's RTT %.0f ms ≥ %.0f ms", s.RTTMs, th.DownlinkRTTMs)
	}
	for _, s := range in.Down {
		p.note(s.Start, s.Loss, th.DownlinkLoss, "%s measured %.0f%% loss towards the subscriber ≥ %.0f%%", s.Node, 100*s.Loss, 100*th.DownlinkLoss)
	}
	return p
}
