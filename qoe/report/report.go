// Package report builds the quality investigation from a store: the calls
// of a room with every stall attributed (GET /api/quality/calls, `qrtn
// quality report`), one call's timeline with the per-hop series of its
// route, and the SLA figures of a time window. It reads the store and
// runs sla and attrib; it must not know HTTP or how the pages draw.
package report

import (
	"context"
	"slices"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/sla"
	"github.com/qrtn/qrtn/qoe/store"
)

// Filter selects calls: by room and participant (empty: any) overlapping
// [From, To] (unix ms).
type Filter struct {
	Room, Participant string
	From, To          int64
}

// Call is one call as GET /api/quality/calls answers it.
type Call struct {
	Session     string `json:"session"`
	Participant string `json:"participant"`
	Name        string `json:"name"`
	Node        string `json:"node"`
	Region      string `json:"region"`
	JoinedAt    int64  `json:"joined_at"`
	LeftAt      int64  `json:"left_at"`
	JoinMs      int    `json:"join_ms"`
	// The join's phases, ms from its start.
	TokenMs      int     `json:"token_ms"`
	WSMs         int     `json:"ws_ms"`
	ICEMs        int     `json:"ice_ms"`
	DTLSMs       int     `json:"dtls_ms"`
	FirstFrameMs int     `json:"first_frame_ms"`
	AudioStalls  int     `json:"audio_stalls"`
	VideoStalls  int     `json:"video_stalls"`
	Compliance   float64 `json:"stall_compliance"`
	Minutes      int     `json:"minutes"`
	Stalls       []Stall `json:"stalls"`
}

// Stall is one stall with its cause.
type Stall struct {
	At         int64     `json:"at"`
	Kind       string    `json:"kind"`
	DurationMs int       `json:"duration_ms"`
	Publisher  string    `json:"publisher"`
	Track      string    `json:"track"`
	Cause      qoe.Cause `json:"cause"`
}

// Calls returns the calls the filter selects, oldest first, each with
// its SLA figures and its stalls attributed.
func Calls(ctx context.Context, s *store.Store, f Filter, now int64, th attrib.Thresholds) ([]Call, error) {
	calls, err := queryCalls(ctx, s, f)
	if err != nil {
		return nil, err
	}
	out := make([]Call, 0, len(calls))
	if len(calls) == 0 {
		return out, nil
	}
	w := window{from: f.From, to: f.To}
	for _, c := range calls {
		w.from = min(w.from, c.JoinedAt)
	}
	ev, err := load(ctx, s, roomsOf(calls), w)
	if err != nil {
		return nil, err
	}
	fig := sla.Aggregate(sla.Input{Calls: calls, Samples: ev.samples, Stalls: ev.stalls, Now: now})
	for _, c := range calls {
		fc := fig.Calls[c.Session]
		v := Call{Session: c.Session, Participant: c.Participant, Name: c.Name, Node: c.Node, Region: c.Region,
			JoinedAt: c.JoinedAt, LeftAt: c.LeftAt, JoinMs: c.JoinMs, TokenMs: c.TokenMs, WSMs: c.WSMs, ICEMs: c.ICEMs,
			DTLSMs: c.DTLSMs, FirstFrameMs: c.FirstFrameMs, AudioStalls: fc.AudioStalls, VideoStalls: fc.VideoStalls,
			Compliance: fc.Compliance, Minutes: fc.Minutes, Stalls: []Stall{}}
		for _, st := range ev.stalls {
			if st.Session != c.Session {
				continue
			}
			v.Stalls = append(v.Stalls, Stall{At: st.At, Kind: st.Kind, DurationMs: st.DurationMs, Publisher: st.Publisher,
				Track: st.Track, Cause: attrib.Attribute(ev.input(st, calls), th)})
		}
		out = append(out, v)
	}
	return out, nil
}

func queryCalls(ctx context.Context, s *store.Store, f Filter) ([]qoe.Call, error) {
	cond := "joined_at <= ? AND (left_at = 0 OR left_at >= ?)"
	args := []any{f.To, f.From}
	if f.Room != "" {
		cond += " AND room = ?"
		args = append(args, f.Room)
	}
	if f.Participant != "" {
		cond += " AND participant = ?"
		args = append(args, f.Participant)
	}
	return store.Query[qoe.Call](ctx, s, cond+" ORDER BY joined_at LIMIT 1000", args...)
}

func roomsOf(calls []qoe.Call) []string {
	var rooms []string
	for _, c := range calls {
		if !slices.Contains(rooms, c.Room) {
			rooms = append(rooms, c.Room)
		}
	}
	return rooms
}

// SLA computes the figures of every call overlapping [from, to].
func SLA(ctx context.Context, s *store.Store, from, to, now int64) (sla.Result, error) {
	calls, err := queryCalls(ctx, s, Filter{From: from, To: to})
	if err != nil {
		return sla.Result{}, err
	}
	samples, err := store.Query[qoe.TrackSample](ctx, s, "end_ms >= ? AND start_ms <= ?", from, to)
	if err != nil {
		return sla.Result{}, err
	}
	stalls, err := store.Query[qoe.Stall](ctx, s, "at_ms >= ? AND at_ms <= ?", from, to)
	if err != nil {
		return sla.Result{}, err
	}
	return sla.Aggregate(sla.Input{Calls: calls, Samples: samples, Stalls: stalls, Now: now}), nil
}

// Alerts lists the alerts raised in [from, to], newest first.
func Alerts(ctx context.Context, s *store.Store, from, to int64) ([]qoe.Alert, error) {
	return store.Query[qoe.Alert](ctx, s, "at_ms >= ? AND at_ms <= ? ORDER BY at_ms DESC LIMIT 500", from, to)
}
