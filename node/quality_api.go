package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/report"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/web"
)

// qualityRoutes serves the quality platform's page and API on every node:
//
//	GET /quality                       the investigation page
//	GET /api/quality/calls?room=R      calls with attributed stalls (the contract)
//	GET /api/quality/call?session=S    one call's timeline and hop series
//	GET /api/quality/rooms             rooms with calls in the window
//	GET /api/quality/alerts            alerts raised in the window
//	GET /api/quality/sla               SLA figures per call, node, region pair, hour
//	GET /api/quality/status            the store and its writer
//
// Windows are from= and to= (unix ms or RFC 3339; default the last 24 h).
func (n *Node) qualityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /quality", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/quality.html"
		web.Handler().ServeHTTP(w, r2)
	})
	mux.HandleFunc("GET /api/quality/status", n.qualityStatus)
	mux.HandleFunc("GET /api/quality/calls", n.withStore(func(w http.ResponseWriter, r *http.Request, s *store.Store, f report.Filter) (any, error) {
		f.Room, f.Participant = r.URL.Query().Get("room"), r.URL.Query().Get("participant")
		calls, err := report.Calls(r.Context(), s, f, time.Now().UnixMilli(), attrib.DefaultThresholds)
		return map[string]any{"calls": calls}, err
	}))
	mux.HandleFunc("GET /api/quality/call", n.withStore(func(w http.ResponseWriter, r *http.Request, s *store.Store, _ report.Filter) (any, error) {
		return report.CallTimeline(r.Context(), s, r.URL.Query().Get("session"), time.Now().UnixMilli(), attrib.DefaultThresholds)
	}))
	mux.HandleFunc("GET /api/quality/rooms", n.withStore(func(w http.ResponseWriter, r *http.Request, s *store.Store, f report.Filter) (any, error) {
		rooms, err := s.Rooms(r.Context(), f.From, f.To, 200)
		if rooms == nil {
			rooms = []store.RoomSummary{}
		}
		return map[string]any{"rooms": rooms}, err
	}))
	mux.HandleFunc("GET /api/quality/alerts", n.withStore(func(w http.ResponseWriter, r *http.Request, s *store.Store, f report.Filter) (any, error) {
		alerts, err := report.Alerts(r.Context(), s, f.From, f.To)
		return map[string]any{"alerts": alerts}, err
	}))
	mux.HandleFunc("GET /api/quality/sla", n.withStore(func(w http.ResponseWriter, r *http.Request, s *store.Store, f report.Filter) (any, error) {
		return report.SLA(r.Context(), s, f.From, f.To, time.Now().UnixMilli())
	}))
}

// qualityHandler answers one API request from the store.
type qualityHandler func(w http.ResponseWriter, r *http.Request, s *store.Store, f report.Filter) (any, error)

// withStore parses the window, finds the store and writes the answer.
func (n *Node) withStore(h qualityHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := n.quality
		if q == nil || q.w == nil {
			qualityError(w, http.StatusServiceUnavailable, "this node keeps no quality records (set quality.database or data_dir)")
			return
		}
		s := q.w.Store()
		if s == nil {
			qualityError(w, http.StatusServiceUnavailable, "the quality store is not reachable yet: "+q.w.Stats().LastError)
			return
		}
		f, err := qualityWindow(r)
		if err != nil {
			qualityError(w, http.StatusBadRequest, err.Error())
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		v, err := h(w, r.WithContext(ctx), s, f)
		switch {
		case errors.Is(err, report.ErrNoCall):
			qualityError(w, http.StatusNotFound, "no call with that session")
		case err != nil:
			n.log.Warn("quality api", "path", r.URL.Path, "err", err)
			qualityError(w, http.StatusServiceUnavailable, "the quality store failed: "+err.Error())
		default:
			qualityJSON(w, http.StatusOK, v)
		}
	}
}

// qualityWindow reads from= and to= (unix ms or RFC 3339), by default the last
// 24 hours.
func qualityWindow(r *http.Request) (report.Filter, error) {
	now := time.Now()
	f := report.Filter{From: now.Add(-24 * time.Hour).UnixMilli(), To: now.UnixMilli()}
	for name, dst := range map[string]*int64{"from": &f.From, "to": &f.To} {
		v := r.URL.Query().Get(name)
		if v == "" {
			continue
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			*dst = ms
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, errors.New(name + ": unix milliseconds or RFC 3339, e.g. 2025-01-02T10:30:00Z")
		}
		*dst = t.UnixMilli()
	}
	if f.To < f.From {
		return f, errors.New("to is before from")
	}
	return f, nil
}

func (n *Node) qualityStatus(w http.ResponseWriter, _ *http.Request) {
	st := map[string]any{"node": n.cfg.Name, "region": n.cfg.Region, "enabled": n.quality != nil}
	if q := n.quality; q != nil && q.w != nil {
		st["writer"] = q.w.Stats()
		if s := q.w.Store(); s != nil {
			st["store"] = s.String()
		}
		c, minutes := q.m.compliance(time.Now().UnixMilli())
		st["stall_compliance"], st["participant_minutes"] = c, minutes
	}
	qualityJSON(w, http.StatusOK, st)
}

func qualityJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func qualityError(w http.ResponseWriter, status int, msg string) {
	qualityJSON(w, status, map[string]string{"error": msg})
}
