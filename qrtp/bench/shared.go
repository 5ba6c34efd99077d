package bench

import (
	"errors"
	"time"
)

var errCompetitorLate = errors.New("bench: the competitor must start within the warmup")

// runShared runs two bulk flows over the same bottleneck: the scenario's
// controller, and a competitor (the same controller for fairness, CUBIC for
// coexistence) that starts CompetitorStartMs later. It reports each flow's
// goodput and share over the measurement window and Jain's index.
func runShared(s *Scenario) (Result, error) {
	var r Result
	w, err := newWorld(s)
	if err != nil {
		return r, err
	}
	newSink(w)
	a, err := newBulkFlow(w, s.CC)
	if err != nil {
		return r, err
	}
	var b *bulkFlow
	w.sim.At(w.sim.Now().Add(time.Duration(s.CompetitorStartMs)*time.Millisecond), func() {
		b, err = newBulkFlow(w, s.Competitor)
	})
	w.sim.RunFor(s.warmup())
	if err != nil {
		return r, err
	}
	if b == nil {
		return r, errCompetitorLate
	}
	win := startWindow(w, a)
	b0 := b.acked()
	w.sim.RunFor(s.measure())
	win.finish(w, a, s.measure(), &r)
	secs := s.measure().Seconds()
	ga := r.GoodputMbit
	gb := float64(b.acked()-b0) * 8 / secs / 1e6
	total := ga + gb
	r.Flows = []FlowResult{{CC: s.CC, GoodputMbit: ga}, {CC: s.Competitor, GoodputMbit: gb}}
	if total > 0 {
		r.Flows[0].Share, r.Flows[1].Share = ga/total, gb/total
	}
	r.Utilization = total * 1e6 / 8 / w.linkRate
	r.GoodputMbit = total
	r.Jain = jain([]float64{ga, gb})
	return r, nil
}
