package node

import (
	"context"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/scheduler"
)

// The scheduler's QoE history comes from the quality store, off the join
// path: every HistoryEvery a goroutine reads the calls and stalls of the
// last HistoryWindow and swaps the figures into the node's HistoryTable,
// which every /api/join reads from memory. Calls never wait on the
// database; when it is away the figures in hand stay.

// callNetwork is the history key a call is stored under: the client's
// /24 or /48 ("" when the address is unknown).
func callNetwork(a netip.Addr) string {
	if s := scheduler.NetworkOf(a); s.Prefix.IsValid() {
		return s.Prefix.String()
	}
	return ""
}

// historyLoop refreshes the history until the node closes.
func (j *joiner) historyLoop(done <-chan struct{}) {
	if j.n.quality == nil || j.n.quality.w == nil {
		return // no store: the history stays neutral
	}
	t := time.NewTimer(min(5*time.Second, j.cfg.HistoryEvery))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		j.refreshHistory(done)
		t.Reset(j.cfg.HistoryEvery)
	}
}

func (j *joiner) refreshHistory(done <-chan struct{}) {
	s := j.n.quality.w.Store()
	if s == nil {
		return // not reachable yet
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { // a closing node does not wait for a slow database
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	from := time.Now().Add(-j.cfg.HistoryWindow).UnixMilli()
	calls, err := store.Query[qoe.Call](ctx, s, "joined_at >= ?", from)
	if err != nil {
		j.n.log.Warn("scheduler history: reading calls", "err", err)
		return
	}
	stalls, err := store.Query[qoe.Stall](ctx, s, "at_ms >= ?", from)
	if err != nil {
		j.n.log.Warn("scheduler history: reading stalls", "err", err)
		return
	}
	j.history.Replace(historyFigures(calls, stalls))
}

// historyFigures groups calls by client network and by the region of the
// node they were on (the users a region's nodes serve are mostly that
// region's), per node: how many calls, the share that stalled, and the
// share of joins that failed (a client that reported its join but never
// got a media connection). Calls whose client reported no join timings
// count for stalls only.
func historyFigures(calls []qoe.Call, stalls []qoe.Stall) map[scheduler.Scope]map[string]scheduler.Quality {
	stalled := map[string]bool{}
	for _, st := range stalls {
		stalled[st.Session] = true
	}
	type acc struct{ calls, stalled, joins, failed int }
	sums := map[scheduler.Scope]map[string]*acc{}
	add := func(sc scheduler.Scope, c qoe.Call) {
		m := sums[sc]
		if m == nil {
			m = map[string]*acc{}
			sums[sc] = m
		}
		a := m[c.Node]
		if a == nil {
			a = &acc{}
			m[c.Node] = a
		}
		a.calls++
		if stalled[c.Session] {
			a.stalled++
		}
		if c.WSMs > 0 {
			a.joins++
			if c.LeftAt != 0 && c.DTLSMs == 0 && c.JoinMs == 0 {
				a.failed++
			}
		}
	}
	for _, c := range calls {
		if p, err := netip.ParsePrefix(c.Network); err == nil {
			add(scheduler.Scope{Prefix: p}, c)
		}
		if c.Region != "" {
			add(scheduler.Scope{Region: c.Region}, c)
		}
	}
	out := make(map[scheduler.Scope]map[string]scheduler.Quality, len(sums))
	for sc, m := range sums {
		q := make(map[string]scheduler.Quality, len(m))
		for node, a := range m {
			f := scheduler.Quality{Calls: a.calls, StallRate: float64(a.stalled) / float64(a.calls)}
			if a.joins > 0 {
				f.JoinFailRate = float64(a.failed) / float64(a.joins)
			}
			q[node] = f
		}
		out[sc] = q
	}
	return out
}
