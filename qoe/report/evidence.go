package report

import (
	"context"
	"strings"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/store"
)

// A stall's evidence is what every hop recorded from a little before it
// began (the trouble comes first: a jitter buffer and deadlines hide it for
// a while) to a little after it ended: a hop's figures show trouble late
// (a smoothed loss rate, a deadline that has to pass before media counts
// as expired, a sample period of seconds), while a subscriber sees the
// gaps at once, so without the lag an upstream hop's loss would read as
// the subscriber's own.
const (
	lead = 3000
	lag  = 3000
)

type window struct{ from, to int64 }

// evidence is everything recorded about some rooms in a window, loaded
// with a few queries and then searched in memory for each stall.
type evidence struct {
	stalls  []qoe.Stall
	samples []qoe.TrackSample
	publish []qoe.PublishSample
	up      []qoe.UpSample
	down    []qoe.DownSample
	hops    []qoe.HopSample
	nodes   []qoe.NodeSample
	routes  []qoe.Route
}

// load reads the rooms' stalls in w and the records around them.
func load(ctx context.Context, s *store.Store, rooms []string, w window) (*evidence, error) {
	in := "room IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(rooms)), ", ") + ")"
	args := func(extra ...any) []any {
		a := make([]any, 0, len(rooms)+len(extra))
		for _, r := range rooms {
			a = append(a, r)
		}
		return append(a, extra...)
	}
	e := &evidence{}
	var err error
	if e.stalls, err = store.Query[qoe.Stall](ctx, s, in+" AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms", args(w.from, w.to)...); err != nil {
		return nil, err
	}
	ew := w
	for _, st := range e.stalls {
		ew.from = min(ew.from, st.At-lead)
		ew.to = max(ew.to, st.At+int64(st.DurationMs)+lag)
	}
	span := args(ew.from, ew.to)
	if e.samples, err = store.Query[qoe.TrackSample](ctx, s, in+" AND end_ms >= ? AND start_ms <= ?", span...); err != nil {
		return nil, err
	}
	if e.publish, err = store.Query[qoe.PublishSample](ctx, s, in+" AND end_ms >= ? AND start_ms <= ?", span...); err != nil {
		return nil, err
	}
	if e.up, err = store.Query[qoe.UpSample](ctx, s, in+" AND end_ms >= ? AND start_ms <= ?", span...); err != nil {
		return nil, err
	}
	if e.down, err = store.Query[qoe.DownSample](ctx, s, in+" AND end_ms >= ? AND start_ms <= ?", span...); err != nil {
		return nil, err
	}
	if e.routes, err = store.Query[qoe.Route](ctx, s, in+" AND at_ms <= ? ORDER BY at_ms", args(ew.to)...); err != nil {
		return nil, err
	}
	if len(e.stalls) == 0 {
		return e, nil // hops and nodes only serve attribution
	}
	if e.hops, err = store.Query[qoe.HopSample](ctx, s, "end_ms >= ? AND start_ms <= ?", ew.from, ew.to); err != nil {
		return nil, err
	}
	if e.nodes, err = store.Query[qoe.NodeSample](ctx, s, "end_ms >= ? AND start_ms <= ?", ew.from, ew.to); err != nil {
		return nil, err
	}
	return e, nil
}

// input gathers the attribution input of one stall.
func (e *evidence) input(st qoe.Stall, calls []qoe.Call) attrib.Input {
	from, to := st.At-lead, st.At+int64(st.DurationMs)+lag
	over := func(start, end int64) bool { return end >= from && start <= to }
	in := attrib.Input{Stall: st, Path: e.path(st, calls), Hops: map[string][]qoe.HopSample{}, Nodes: map[string][]qoe.NodeSample{}}
	for _, x := range e.publish {
		if x.Room == st.Room && x.Participant == st.Publisher && x.Track == st.Track && over(x.Start, x.End) {
			in.Publish = append(in.Publish, x)
		}
	}
	for _, x := range e.up {
		if x.Room == st.Room && x.Participant == st.Publisher && x.Track == st.Track && over(x.Start, x.End) {
			in.Up = append(in.Up, x)
		}
	}
	for _, x := range e.samples {
		if x.Session == st.Session && x.Publisher == st.Publisher && x.Track == st.Track && over(x.Start, x.End) {
			in.Recv = append(in.Recv, x)
		}
	}
	for _, x := range e.down {
		// Any of the subscriber's tracks: they share its downlink (audio
		// has no NACKs, video's show what the node resent).
		if x.Node == st.Node && x.Participant == st.Participant && over(x.Start, x.End) {
			in.Down = append(in.Down, x)
		}
	}
	onPath := map[string]bool{}
	for i, n := range in.Path {
		onPath[n] = true
		if i+1 < len(in.Path) {
			in.Hops[qoe.HopName(n, in.Path[i+1])] = nil
		}
	}
	for _, x := range e.hops {
		k := qoe.HopName(x.From, x.To)
		if _, ok := in.Hops[k]; ok && over(x.Start, x.End) {
			in.Hops[k] = append(in.Hops[k], x)
		}
	}
	for _, x := range e.nodes {
		if onPath[x.Node] && over(x.Start, x.End) {
			in.Nodes[x.Node] = append(in.Nodes[x.Node], x)
		}
	}
	return in
}

// path is the route the stalled track took to the subscriber's node at
// the stall: the latest recorded route, else the publisher's node then
// the subscriber's.
func (e *evidence) path(st qoe.Stall, calls []qoe.Call) []string {
	var best *qoe.Route
	for i := range e.routes {
		r := &e.routes[i]
		if r.Node == st.Node && r.Room == st.Room && r.Track == st.Track && r.At <= st.At+lag && len(r.Path) > 0 {
			if best == nil || r.At >= best.At {
				best = r
			}
		}
	}
	if best != nil {
		return best.Path
	}
	for _, c := range calls {
		if c.Room == st.Room && c.Participant == st.Publisher && c.JoinedAt <= st.At && (c.LeftAt == 0 || c.LeftAt >= st.At) {
			if c.Node == st.Node {
				return []string{c.Node}
			}
			return []string{c.Node, st.Node}
		}
	}
	return []string{st.Node}
}
