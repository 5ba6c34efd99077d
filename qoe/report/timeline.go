package report

import (
	"context"
	"errors"
	"slices"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/store"
)

// ErrNoCall: no call has that session.
var ErrNoCall = errors.New("report: no such call")

// Timeline is one call in detail: its phases and events, what it received
// and sent interval by interval, its stalls with their causes, and the
// series of every trunk hop on the routes of what it received.
type Timeline struct {
	Call    Call                        `json:"call"`
	Events  []qoe.Event                 `json:"events"`
	Samples []qoe.TrackSample           `json:"samples"`
	Publish []qoe.PublishSample         `json:"publish"`
	Down    []qoe.DownSample            `json:"down"`
	Routes  []qoe.Route                 `json:"routes"`
	Hops    map[string][]HopPoint       `json:"hops"` // by "from→to"
	Nodes   map[string][]qoe.NodeSample `json:"nodes"`
}

// HopPoint is one interval of a trunk hop, as the charts plot it.
type HopPoint struct {
	At      int64   `json:"at"`
	Up      bool    `json:"up"`
	RTTMs   float64 `json:"rtt_ms"`
	Loss    float64 `json:"loss"`
	FECK    int     `json:"fec_k"`
	FECM    int     `json:"fec_m"`
	Rebuilt int     `json:"rebuilt"`
	Expired int     `json:"expired"`
	Kbps    float64 `json:"kbps"`
	RetxPct float64 `json:"retx_pct"`
}

// CallTimeline builds the timeline of one session.
func CallTimeline(ctx context.Context, s *store.Store, session string, now int64, th attrib.Thresholds) (Timeline, error) {
	cs, err := store.Query[qoe.Call](ctx, s, "session_id = ?", session)
	if err != nil {
		return Timeline{}, err
	}
	if len(cs) == 0 {
		return Timeline{}, ErrNoCall
	}
	c := cs[0]
	end := c.LeftAt
	if end == 0 {
		end = now
	}
	calls, err := Calls(ctx, s, Filter{Room: c.Room, From: c.JoinedAt, To: end}, now, th)
	if err != nil {
		return Timeline{}, err
	}
	tl := Timeline{Hops: map[string][]HopPoint{}, Nodes: map[string][]qoe.NodeSample{}}
	for _, x := range calls {
		if x.Session == session {
			tl.Call = x
		}
	}
	if tl.Events, err = store.Query[qoe.Event](ctx, s, "session_id = ? ORDER BY at_ms LIMIT 5000", session); err != nil {
		return tl, err
	}
	if tl.Samples, err = store.Query[qoe.TrackSample](ctx, s, "session_id = ? ORDER BY end_ms LIMIT 20000", session); err != nil {
		return tl, err
	}
	if tl.Publish, err = store.Query[qoe.PublishSample](ctx, s, "session_id = ? ORDER BY end_ms LIMIT 20000", session); err != nil {
		return tl, err
	}
	if tl.Down, err = store.Query[qoe.DownSample](ctx, s, "node = ? AND room = ? AND participant = ? AND end_ms >= ? AND start_ms <= ? ORDER BY end_ms LIMIT 20000",
		c.Node, c.Room, c.Participant, c.JoinedAt, end); err != nil {
		return tl, err
	}
	if tl.Routes, err = store.Query[qoe.Route](ctx, s, "node = ? AND room = ? AND at_ms <= ? ORDER BY at_ms LIMIT 5000", c.Node, c.Room, end); err != nil {
		return tl, err
	}
	hops, nodes := map[string]bool{}, map[string]bool{c.Node: true}
	for _, r := range tl.Routes {
		for i, n := range r.Path {
			nodes[n] = true
			if i+1 < len(r.Path) {
				hops[qoe.HopName(n, r.Path[i+1])] = true
			}
		}
	}
	from := c.JoinedAt - lead
	if len(hops) > 0 {
		hs, err := store.Query[qoe.HopSample](ctx, s, "end_ms >= ? AND start_ms <= ? ORDER BY end_ms", from, end)
		if err != nil {
			return tl, err
		}
		for _, h := range hs {
			if k := qoe.HopName(h.From, h.To); hops[k] {
				tl.Hops[k] = append(tl.Hops[k], hopPoint(h))
			}
		}
	}
	ns, err := store.Query[qoe.NodeSample](ctx, s, "end_ms >= ? AND start_ms <= ? ORDER BY end_ms", from, end)
	if err != nil {
		return tl, err
	}
	for _, n := range ns {
		if nodes[n.Node] {
			tl.Nodes[n.Node] = append(tl.Nodes[n.Node], n)
		}
	}
	return tl, nil
}

func hopPoint(h qoe.HopSample) HopPoint {
	p := HopPoint{At: h.End, Up: h.Up, RTTMs: h.RTTMs, Loss: h.Loss, FECK: h.FECK, FECM: h.FECM, Rebuilt: h.Rebuilt,
		Expired: h.Expired}
	if d := h.End - h.Start; d > 0 {
		p.Kbps = float64(h.SentBytes) * 8 / float64(d)
	}
	if h.SentBytes > 0 {
		p.RetxPct = 100 * float64(h.RetxBytes) / float64(h.SentBytes)
	}
	return p
}

// HopNames lists the hops of a timeline in order, for stable output.
func (t Timeline) HopNames() []string {
	var out []string
	for k := range t.Hops {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
