// Package attrib decides where a stall began: the publisher's uplink, a
// named trunk hop, a node on the route, or the subscriber's downlink. It
// reads the records of every hop along the stalled track's route around
// the stall's time and names the figures that crossed their thresholds as
// evidence.
//
// The rule: walk the route from the publisher to the subscriber (uplink,
// then each node and the trunk hop after it, then the downlink) and blame
// the first place whose figures crossed a threshold: trouble upstream shows
// downstream too, so the first is where it began. When nothing crossed a
// threshold, the place closest to it is named, and the evidence says the
// case is weak.
//
// It is pure: records and thresholds in, a qoe.Cause out.
package attrib

import (
	"fmt"
	"strings"

	"github.com/qrtn/qrtn/qoe"
)

// Thresholds say when a figure counts as evidence.
type Thresholds struct {
	// A trunk hop: measured loss, media messages expired (deadline
	// missed, so never delivered), media dropped, RTT.
	HopLoss    float64
	HopExpired int
	HopDrops   int
	HopRTTMs   float64
	// The publisher: loss its node reported back, encoder frame rate
	// while limited (cpu or bandwidth), and the node receiving nothing.
	UplinkLoss     float64
	UplinkLimitFPS float64
	UplinkRTTMs    float64
	// The subscriber: loss it saw on the track or reported to its node,
	// and its RTT.
	DownlinkLoss  float64
	DownlinkRTTMs float64
	// A node: CPU in use as a share of its cores, packets dropped from
	// its own queues.
	NodeCPU   float64
	NodeDrops int
}

// DefaultThresholds are tuned to what QRTP repairs: a trunk losing 10 %
// with FEC on is healthy, one that lets messages expire is not.
var DefaultThresholds = Thresholds{
	HopLoss: 0.25, HopExpired: 1, HopDrops: 1, HopRTTMs: 1000,
	UplinkLoss: 0.1, UplinkLimitFPS: 8, UplinkRTTMs: 800,
	DownlinkLoss: 0.05, DownlinkRTTMs: 800,
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
	Down    []qoe.DownSample  // the subscriber's node, this track
}

// place is one candidate along the route with its evidence.
type place struct {
	where, hop, node string
	severity         float64 // ≥ 1: a figure crossed its threshold
	evidence         []string
}

// note adds a figure: its severity is value/threshold (higher is worse).
func (p *place) note(value, threshold float64, format string, args ...any) {
	if threshold <= 0 || value <= 0 {
		return
	}
	s := value / threshold
	if s >= 1 {
		p.evidence = append(p.evidence, fmt.Sprintf(format, args...))
	}
	p.severity = max(p.severity, s)
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
	places = append(places, downlink(in, th))
	for _, p := range places {
		if p.severity >= 1 {
			return qoe.Cause{Where: p.where, Hop: p.hop, Node: p.node, Evidence: strings.Join(p.evidence, "; ")}
		}
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
		p.note(s.FractionLost, th.UplinkLoss, "publisher's loss %.0f%% ≥ %.0f%%", 100*s.FractionLost, 100*th.UplinkLoss)
		p.note(s.RTTMs, th.UplinkRTTMs, "publisher's RTT %.0f ms ≥ %.0f ms", s.RTTMs, th.UplinkRTTMs)
		if (s.Limitation == "cpu" || s.Limitation == "bandwidth") && s.Kind == "video" && s.FPS < th.UplinkLimitFPS {
			p.note(2, 1, "publisher's encoder limited by %s at %.1f fps < %.0f", s.Limitation, s.FPS, th.UplinkLimitFPS)
		}
	}
	// The publisher's node received nothing of the track for a whole
	// interval while it was published, or lost much of it for good.
	for _, s := range in.Up {
		p.note(s.Loss, th.UplinkLoss, "%s never received %.0f%% of the publisher's newest video packets ≥ %.0f%%", s.Node, 100*s.Loss, 100*th.UplinkLoss)
		if s.Packets == 0 {
			p.note(2, 1, "%s received no %s packets from the publisher for %.1f s", s.Node, s.Kind, float64(s.End-s.Start)/1000)
		}
	}
	return p
}

func hopPlace(from, to string, samples []qoe.HopSample, th Thresholds) *place {
	name := qoe.HopName(from, to)
	p := &place{where: qoe.WhereTrunk, hop: name}
	var loss, rtt float64
	expired, drops, down := 0, 0, false
	for _, s := range samples {
		loss, rtt = max(loss, s.Loss), max(rtt, s.RTTMs)
		expired += s.Expired
		drops += s.MediaDrops
		down = down || !s.Up
	}
	if down {
		p.note(10, 1, "%s was down", name)
	}
	p.note(float64(expired), float64(th.HopExpired), "%s: %d media messages expired (deadline missed) ≥ %d", name, expired, th.HopExpired)
	p.note(loss, th.HopLoss, "%s: loss %.0f%% ≥ %.0f%%", name, 100*loss, 100*th.HopLoss)
	p.note(float64(drops), float64(th.HopDrops), "%s: %d media messages dropped ≥ %d", name, drops, th.HopDrops)
	p.note(rtt, th.HopRTTMs, "%s: RTT %.0f ms ≥ %.0f ms", name, rtt, th.HopRTTMs)
	return p
}

func nodePlace(name string, samples []qoe.NodeSample, th Thresholds) *place {
	p := &place{where: qoe.WhereNode, node: name}
	drops := 0
	for _, s := range samples {
		if s.Cores > 0 {
			share := s.CPU / float64(s.Cores)
			p.note(share, th.NodeCPU, "%s: CPU %.0f%% of %d cores ≥ %.0f%%", name, 100*share, s.Cores, 100*th.NodeCPU)
		}
		drops += s.Drops
	}
	p.note(float64(drops), float64(th.NodeDrops), "%s: %d media packets dropped from its queues ≥ %d", name, drops, th.NodeDrops)
	return p
}

func downlink(in Input, th Thresholds) *place {
	p := &place{where: qoe.WhereDownlink}
	for _, s := range in.Recv {
		if n := s.PacketsLost + s.PacketsReceived; n > 0 {
			f := float64(s.PacketsLost) / float64(n)
			p.note(f, th.DownlinkLoss, "subscriber lost %.0f%% of the track's packets ≥ %.0f%%", 100*f, 100*th.DownlinkLoss)
		}
		p.note(s.RTTMs, th.DownlinkRTTMs, "subscriber's RTT %.0f ms ≥ %.0f ms", s.RTTMs, th.DownlinkRTTMs)
	}
	for _, s := range in.Down {
		p.note(s.Loss, th.DownlinkLoss, "%s measured %.0f%% loss towards the subscriber ≥ %.0f%%", s.Node, 100*s.Loss, 100*th.DownlinkLoss)
	}
	return p
}
