package sla

import (
	"math"
	"slices"

	"github.com/qrtn/qrtn/qoe"
)

// Targets of the talk's SLA, and ours where they are stricter.
const (
	JoinTargetMs       = 5000  // the talk: join in under 5 s
	ComplianceTarget   = 0.995 // the talk: at least 99.5 % stall compliance
	LatencyTargetMs    = 400   // the talk: end to end under 400 ms
	minuteMs           = 60_000
	hourMs             = 3_600_000
	regionPairSeparate = "→"
)

// Figures are the SLA figures of a group of calls.
type Figures struct {
	Calls int `json:"calls"`
	// Minutes are participant-minutes: for each call, the wall-clock
	// minutes it overlapped. For a region pair they are stream-minutes:
	// the minutes a subscriber received a publisher of that region.
	Minutes        int `json:"minutes"`
	StalledMinutes int `json:"stalled_minutes"`
	// Compliance is the share of Minutes without a stall (1 with none).
	Compliance  float64 `json:"stall_compliance"`
	AudioStalls int     `json:"audio_stalls"`
	VideoStalls int     `json:"video_stalls"`
	StallMs     int     `json:"stall_ms"`
	// Join time over the calls that reported one.
	JoinP50Ms  float64 `json:"join_p50_ms"`
	JoinP95Ms  float64 `json:"join_p95_ms"`
	JoinUnder5 float64 `json:"join_under_5s"` // share of calls
	// End-to-end latency over the samples that had one; Estimated says
	// some of them were estimated from the route.
	E2EP50Ms  float64 `json:"e2e_p50_ms"`
	E2EP95Ms  float64 `json:"e2e_p95_ms"`
	Estimated bool    `json:"e2e_estimated"`
}

// Input is what the figures are computed from: calls, the track samples
// their clients reported, and their stalls. Now closes calls still in
// progress.
type Input struct {
	Calls   []qoe.Call
	Samples []qoe.TrackSample
	Stalls  []qoe.Stall
	Now     int64
}

// Result groups the figures. Keys: session; node; "pubRegion→subRegion";
// the hour's start in unix ms.
type Result struct {
	Total       Figures            `json:"total"`
	Calls       map[string]Figures `json:"calls"`
	Nodes       map[string]Figures `json:"nodes"`
	RegionPairs map[string]Figures `json:"region_pairs"`
	Hours       map[int64]Figures  `json:"hours"`
}

// acc accumulates one group.
type acc struct {
	calls, minutes, stalled, audio, video, stallMs int
	join, e2e                                      []float64
	estimated                                      bool
}

func (a *acc) figures() Figures {
	f := Figures{Calls: a.calls, Minutes: a.minutes, StalledMinutes: a.stalled, AudioStalls: a.audio,
		VideoStalls: a.video, StallMs: a.stallMs, Compliance: 1, Estimated: a.estimated}
	if a.minutes > 0 {
		f.Compliance = 1 - float64(a.stalled)/float64(a.minutes)
	}
	if len(a.join) > 0 {
		f.JoinP50Ms, f.JoinP95Ms = Percentile(a.join, 0.5), Percentile(a.join, 0.95)
		under := 0
		for _, j := range a.join {
			if j < JoinTargetMs {
				under++
			}
		}
		f.JoinUnder5 = float64(under) / float64(len(a.join))
	}
	if len(a.e2e) > 0 {
		f.E2EP50Ms, f.E2EP95Ms = Percentile(a.e2e, 0.5), Percentile(a.e2e, 0.95)
	}
	return f
}

// groups is a set of named accumulators.
type groups[K comparable] map[K]*acc

func (g groups[K]) at(k K) *acc {
	a := g[k]
	if a == nil {
		a = &acc{}
		g[k] = a
	}
	return a
}

func figuresOf[K comparable](g groups[K]) map[K]Figures {
	out := make(map[K]Figures, len(g))
	for k, a := range g {
		out[k] = a.figures()
	}
	return out
}

// Aggregate computes the figures per call, node, region pair and hour.
func Aggregate(in Input) Result {
	var total acc
	calls, nodes, pairs, hours := groups[string]{}, groups[string]{}, groups[string]{}, groups[int64]{}
	byID := map[string]qoe.Call{}
	region := map[string]string{} // room/participant → region of its node
	for _, c := range in.Calls {
		byID[c.Session] = c
		region[c.Room+"/"+c.Participant] = c.Region
	}
	stalledMin := map[string]map[int64]bool{} // session → minutes with a stall
	streamStalled := map[string]map[int64]bool{}
	for _, s := range in.Stalls {
		c, ok := byID[s.Session]
		if !ok {
			continue
		}
		end := s.At + int64(s.DurationMs)
		mark(stalledMin, s.Session, s.At, end)
		mark(streamStalled, s.Session+"\x00"+s.Publisher, s.At, end)
		for _, a := range []*acc{&total, calls.at(c.Session), nodes.at(c.Node), hours.at(s.At / hourMs * hourMs),
			pairs.at(region[c.Room+"/"+s.Publisher] + regionPairSeparate + c.Region)} {
			a.stallMs += s.DurationMs
			if s.Kind == "audio" {
				a.audio++
			} else {
				a.video++
			}
		}
	}
	for _, c := range in.Calls {
		end := c.LeftAt
		if end == 0 || end > in.Now {
			end = max(in.Now, c.JoinedAt)
		}
		groupsOf := []*acc{&total, calls.at(c.Session), nodes.at(c.Node)}
		for _, a := range append(groupsOf, hours.at(c.JoinedAt/hourMs*hourMs)) {
			a.calls++
			if c.JoinMs > 0 {
				a.join = append(a.join, float64(c.JoinMs))
			}
		}
		for m := c.JoinedAt / minuteMs; m <= end/minuteMs; m++ {
			st := stalledMin[c.Session][m]
			for _, a := range append(groupsOf, hours.at(m*minuteMs/hourMs*hourMs)) {
				a.minutes++
				if st {
					a.stalled++
				}
			}
		}
	}
	streams := map[string]map[int64]bool{}
	for _, s := range in.Samples {
		c, ok := byID[s.Session]
		if !ok {
			continue
		}
		mark(streams, s.Session+"\x00"+s.Publisher, s.Start, s.End)
		if s.E2EMs > 0 {
			for _, a := range []*acc{&total, calls.at(c.Session), nodes.at(c.Node), hours.at(s.End / hourMs * hourMs),
				pairs.at(region[c.Room+"/"+s.Publisher] + regionPairSeparate + c.Region)} {
				a.e2e = append(a.e2e, s.E2EMs)
				a.estimated = a.estimated || s.E2EEstimate
			}
		}
	}
	for key, mins := range streams {
		sess, pub := splitKey(key)
		c := byID[sess]
		a := pairs.at(region[c.Room+"/"+pub] + regionPairSeparate + c.Region)
		for m := range mins {
			a.minutes++
			if streamStalled[key][m] {
				a.stalled++
			}
		}
	}
	return Result{Total: total.figures(), Calls: figuresOf(calls), Nodes: figuresOf(nodes),
		RegionPairs: figuresOf(pairs), Hours: figuresOf(hours)}
}

// mark records the wall-clock minutes [from, to] overlaps under key.
func mark(m map[string]map[int64]bool, key string, from, to int64) {
	if to < from {
		return
	}
	set := m[key]
	if set == nil {
		set = map[int64]bool{}
		m[key] = set
	}
	for x := from / minuteMs; x <= to/minuteMs; x++ {
		set[x] = true
	}
}

func splitKey(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// Percentile returns the q-quantile (0..1) of vs by the nearest rank.
func Percentile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
