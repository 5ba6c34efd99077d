package bench

import (
	"fmt"
	"strings"
)

// Target is one of mission.md's measured targets and what a run found.
type Target struct {
	What string
	Want string
	Got  string
	// Met is "yes", "no", or "–" when the run did not measure it.
	Met string
}

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// Targets checks the results against the targets.
func (r *Report) Targets() []Target {
	var ts []Target
	_, rtts, losses := r.axes(KindBulk)
	for _, rtt := range rtts {
		ts = append(ts, r.bulkTargets(rtt, losses)...)
	}
	for _, rtt := range rtts {
		if t, ok := r.fairnessTarget(rtt); ok {
			ts = append(ts, t)
		}
		if t, ok := r.cubicTarget(rtt); ok {
			ts = append(ts, t)
		}
	}
	ts = append(ts, r.mediaTargets()...)
	return ts
}

// worst returns the lowest utilization (and its loss) of qbbr's bulk runs
// with loss in [lo, hi], scaled by scale(loss).
func (r *Report) worst(rtt int, pl string, losses []float64, lo, hi float64, scale func(float64) float64) (float64, float64, bool) {
	best, at, found := 0.0, 0.0, false
	for _, l := range losses {
		if l < lo || l > hi {
			continue
		}
		x := r.bulk("qbbr", rtt, l, pl)
		if x == nil {
			continue
		}
		v := x.Utilization / scale(l)
		if !found || v < best {
			best, at, found = v, l, true
		}
	}
	return best, at, found
}

func (r *Report) bulkTargets(rtt int, losses []float64) []Target {
	var ts []Target
	one := func(float64) float64 { return 1 }
	bands := []struct {
		lo, hi, want float64
		label        string
	}{{0, 0.10, 0.9, "up to 10%"}, {0.2, 0.3, 0.8, "20–30%"}, {0.5, 0.5, 0.7, "50%"}}
	for _, band := range bands {
		v, at, ok := r.worst(rtt, PlacementBefore, losses, band.lo, band.hi, one)
		if !ok {
			continue
		}
		ts = append(ts, Target{
			What: fmt.Sprintf("qbbr bulk, RTT %d ms, loss before the bottleneck, %s", rtt, band.label),
			Want: fmt.Sprintf("≥ %.1f", band.want),
			Got:  fmt.Sprintf("%.3f (worst, at %s)", v, pct(at)),
			Met:  verdict(v >= band.want),
		})
	}
	if v, at, ok := r.worst(rtt, PlacementAfter, losses, 0.001, 1, func(l float64) float64 { return 1 - l }); ok {
		ts = append(ts, Target{
			What: fmt.Sprintf("qbbr bulk, RTT %d ms, lossy link (loss after the bottleneck)", rtt),
			Want: "≥ 0.85 × (1 − loss)",
			Got:  fmt.Sprintf("%.3f × (1 − loss) (worst, at %s)", v, pct(at)),
			Met:  verdict(v >= 0.85),
		})
	}
	if x := r.bulk("qbbr", rtt, 0, PlacementBefore); x != nil {
		ts = append(ts, Target{
			What: fmt.Sprintf("qbbr at 0%% loss, RTT %d ms: utilization and median queueing delay", rtt),
			Want: "≥ 0.95, < 10% of min RTT",
			Got:  fmt.Sprintf("%.3f, %.1f%%", x.Utilization, 100*x.QueueP50Ratio),
			Met:  verdict(x.Utilization >= 0.95 && x.QueueP50Ratio < 0.1),
		})
	}
	ts = append(ts, r.cliffTarget(rtt, losses)...)
	return ts
}

// cliffTarget shows bbr1 collapsing near 20% loss, as the talk measured:
// it holds the link (≥ 0.5) at the highest measured loss below 20% and
// collapses (< 0.2) somewhere in 20–30%.
func (r *Report) cliffTarget(rtt int, losses []float64) []Target {
	var parts []string
	held, collapsed, seenBelow, seenAbove := false, false, false, false
	for _, l := range losses {
		x := r.bulk("bbr1", rtt, l, PlacementBefore)
		if x == nil || l < 0.05 || l > 0.5 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%.3f at %s", x.Utilization, pct(l)))
		if l < 0.2 {
			held, seenBelow = x.Utilization >= 0.5, true
		} else if l <= 0.3 {
			collapsed, seenAbove = collapsed || x.Utilization < 0.2, true
		}
	}
	if !seenBelow || !seenAbove {
		return nil
	}
	return []Target{{
		What: fmt.Sprintf("bbr1 (baseline) shows its cliff, RTT %d ms, loss before", rtt),
		Want: "≥ 0.5 below 20% loss, < 0.2 by 20–30%",
		Got:  strings.Join(parts, ", "),
		Met:  verdict(held && collapsed),
	}}
}

func (r *Report) fairnessTarget(rtt int) (Target, bool) {
	x := r.find(func(x *Result) bool {
		return x.Kind == KindFairness && x.CC == "qbbr" && x.RTTms == rtt && x.CompetitorStartMs <= 1
	})
	if x == nil {
		return Target{}, false
	}
	return Target{
		What: fmt.Sprintf("two qbbr flows starting together, RTT %d ms", rtt),
		Want: "Jain ≥ 0.9",
		Got:  fmt.Sprintf("%.3f", x.Jain),
		Met:  verdict(x.Jain >= 0.9),
	}, true
}

func (r *Report) cubicTarget(rtt int) (Target, bool) {
	x := r.find(func(x *Result) bool { return x.Kind == KindVsCubic && x.CC == "qbbr" && x.RTTms == rtt })
	if x == nil || len(x.Flows) != 2 {
		return Target{}, false
	}
	return Target{
		What: fmt.Sprintf("qbbr vs cubic on a 1-BDP buffer, RTT %d ms", rtt),
		Want: "cubic keeps ≥ 15%",
		Got:  fmt.Sprintf("cubic %s, qbbr %s", pct(x.Flows[1].Share), pct(x.Flows[0].Share)),
		Met:  verdict(x.Flows[1].Share >= 0.15),
	}, true
}

// mediaTargets are mission.md's trunk media targets at 50% loss, RTT 200 ms.
func (r *Report) mediaTargets() []Target {
	x := r.find(func(x *Result) bool {
		return x.Kind == KindMedia && x.CC == "qbbr" && x.RTTms == 200 && x.Loss == 0.5 && x.Placement == PlacementBefore
	})
	if x == nil || x.Media == nil {
		return nil
	}
	m := x.Media
	return []Target{
		{What: "media 1500 kbit/s, 50% loss, RTT 200 ms (qbbr): p95 frame latency", Want: "≤ 200 ms", Got: latency(m.LatencyP95ms), Met: verdict(m.LatencyP95ms >= 0 && m.LatencyP95ms <= 200)},
		{What: "media: frames complete within 400 ms", Want: "≥ 99.5%", Got: fmt.Sprintf("%.1f%%", 100*m.Within400), Met: verdict(m.Within400 >= 0.995)},
		{What: "media: 600 ms stalls", Want: "none", Got: fmt.Sprint(m.Stalls600), Met: verdict(m.Stalls600 == 0)},
	}
}

func (r *Report) writeTargets(b *strings.Builder) {
	ts := r.Targets()
	if len(ts) == 0 {
		return
	}
	b.WriteString("## Targets (mission.md)\n\n| target | want | measured | met |\n|---|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", t.What, t.Want, t.Got, t.Met)
	}
	b.WriteString("\n")
}
