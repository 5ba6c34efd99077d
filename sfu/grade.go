package sfu

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Connection quality, as a subscriber experiences each remote participant:
// computed on the node from what it knows per down-track (the loss and
// round-trip time in the subscriber's receiver reports, and whether the
// layer forwarded is below the one the view asks for), graded like
// LiveKit's "excellent", "good", "poor", and sent to the subscriber when it
// changes (ConnectionQuality event). Not to be confused with quality.go, which
// samples down-tracks for the quality platform (issue 10).

// Connection quality grades.
const (
	GradeExcellent = "excellent"
	GradeGood      = "good"
	GradePoor      = "poor"
)

// gradeEvery is how often grades are recomputed and sent on change.
const gradeEvery = 2 * time.Second

// ConnectionQuality: the connection quality of each remote participant as
// this subscriber receives it (participant ID → grade), and the path each
// one's media takes to this node (when a PathSource is set).
type ConnectionQuality struct {
	Participants map[string]string
	Paths        map[string]Path
}

// Path is the way a participant's media takes to this node: the nodes
// from its access node to here (one entry when it is connected here), the
// trunk hops and the one-way trunk latency along them.
type Path struct {
	Node      string   `json:"node"`
	Nodes     []string `json:"path"`
	Hops      int      `json:"hops"`
	LatencyMs float64  `json:"latency_ms"`
}

// PathSource tells the paths of a room's participants to this node (the
// node's trunk knows them; the SFU does not).
type PathSource func(room string) map[string]Path

// SetPathSource sets where rooms learn their participants' paths; nil:
// nowhere (no paths are sent).
func (s *SFU) SetPathSource(fn PathSource) {
	if fn == nil {
		s.paths.Store(nil)
		return
	}
	s.paths.Store(&fn)
}

// roomPaths asks the path source, if any, for a room's paths.
func (r *Room) roomPaths() map[string]Path {
	if fn := r.sfu.paths.Load(); fn != nil {
		return (*fn)(r.name)
	}
	return nil
}

func (ConnectionQuality) isEvent() {}

// gradeReceiverReport keeps, for grading, the subscriber's report on this
// down-track's stream (quality.go keeps the same loss for the quality
// platform).
func (d *DownTrack) gradeReceiverReport(p *rtcp.ReceiverReport, now time.Time) {
	d.mu.Lock()
	ssrc := d.ssrc
	d.mu.Unlock()
	for _, rr := range p.Reports {
		if rr.SSRC == ssrc {
			d.gradeReport(rr, now)
		}
	}
}

// gradeReport records one report block: fraction lost since the last
// report, and the round-trip time (RFC 3550 §6.4.1: now − LSR − DLSR, in
// 1/65536 s).
func (d *DownTrack) gradeReport(rr rtcp.ReceptionReport, now time.Time) {
	d.rrLoss.Store(uint32(rr.FractionLost))
	if rr.LastSenderReport == 0 {
		return
	}
	rtt := ntpCompact(now) - rr.LastSenderReport - rr.Delay
	if ms := int64(rtt) * 1000 >> 16; ms >= 0 && ms < 10_000 {
		d.rrRTT.Store(ms)
	}
}

// ntpCompact is the middle 32 bits of the NTP time of t.
func ntpCompact(t time.Time) uint32 {
	secs := uint64(t.Unix()) + 2208988800
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// grade scores one down-track.
func (d *DownTrack) grade(q Quality) int {
	loss := float64(d.rrLoss.Load()) / 256
	rtt := d.rrRTT.Load()
	score := 2
	if loss >= 0.02 || rtt >= 300 {
		score = 1
	}
	if loss >= 0.08 || rtt >= 600 {
		score = 0
	}
	if d.r.kind == webrtc.RTPCodecTypeVideo {
		d.mu.Lock()
		decided, muted := d.decided, d.muted
		d.mu.Unlock()
		want := qualityLayer(q, d.r.layerCount())
		switch {
		case muted, want < 0:
		case decided < 0:
			score = 0
		case decided < want:
			score = min(score, 1)
		}
	}
	return score
}

// gradesDue reports whether the subscriber's grades are due.
func (s *subscriber) gradesDue(now time.Time) bool { return now.Sub(s.gradedAt) >= gradeEvery }

// grades grades every remote participant this subscriber receives and
// reports whether the grades or the paths (of the others) changed since
// the last call.
func (s *subscriber) grades(now time.Time, paths map[string]Path) (ConnectionQuality, bool) {
	s.gradedAt = now
	s.mu.Lock()
	downs := make([]*DownTrack, 0, len(s.downs))
	for _, d := range s.downs {
		downs = append(downs, d)
	}
	s.mu.Unlock()
	worst := map[string]int{}
	for _, d := range downs {
		g := d.grade(s.p.trackPreference(d.r))
		if d.temporalHeld(s.p.frameRatePreference(d.r)) {
			g = min(g, 1)
		}
		id := d.r.owner.id
		if w, ok := worst[id]; !ok || g < w {
			worst[id] = g
		}
	}
	names := []string{GradePoor, GradeGood, GradeExcellent}
	out := make(map[string]string, len(worst))
	for id, g := range worst {
		out[id] = names[g]
	}
	// Paths only of the participants whose tracks this subscriber gets:
	// all of a large room's, to each of its members at every join, would
	// be quadratic.
	mine := make(map[string]Path, len(worst))
	for id := range worst {
		if pt, ok := paths[id]; ok {
			mine[id] = pt
		}
	}
	if maps.Equal(out, s.lastGrades) && maps.EqualFunc(mine, s.lastPaths, samePath) {
		return ConnectionQuality{}, false
	}
	s.lastGrades, s.lastPaths = out, mine
	return ConnectionQuality{Participants: out, Paths: mine}, true
}

func samePath(a, b Path) bool {
	return a.Node == b.Node && a.Hops == b.Hops && slices.Equal(a.Nodes, b.Nodes) && math.Abs(a.LatencyMs-b.LatencyMs) < 5
}
