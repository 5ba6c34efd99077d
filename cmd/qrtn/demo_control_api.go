package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// demoAPI serves the demo's live controls on every node's HTTP port:
//
//	GET  /api/demo/links  every trunk's link settings
//	POST /api/demo/link   {from, to, delay_ms, loss, burst[, jitter_ms]}
//	GET  /api/demo/nodes  every node and whether it runs
//	POST /api/demo/node   {name, action: "stop"|"start"}
//
// A node asked to stop itself answers first and stops right after: its
// own HTTP server must finish the request before it can close.
type demoAPI struct {
	net *network
	wg  sync.WaitGroup // self-stops in progress
}

// maxControlBody bounds a control request.
const maxControlBody = 4 << 10

// mount returns the handlers to add to every node's mux. self names the
// node that serves them.
func (a *demoAPI) mount(self string) map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/demo/links": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			ctlWriteJSON(w, http.StatusOK, map[string]any{"links": a.net.Links()})
		}),
		"POST /api/demo/link": http.HandlerFunc(a.handleLink),
		"GET /api/demo/nodes": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			ctlWriteJSON(w, http.StatusOK, map[string]any{"nodes": a.net.NodeStates()})
		}),
		"POST /api/demo/node": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.handleNode(w, r, self) }),
	}
}

// linkRequest is POST /api/demo/link's body. Absent fields keep their
// current value.
type linkRequest struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	DelayMs  *float64 `json:"delay_ms"`
	JitterMs *float64 `json:"jitter_ms"`
	Loss     *float64 `json:"loss"`
	Burst    *float64 `json:"burst"`
}

func (a *demoAPI) handleLink(w http.ResponseWriter, r *http.Request) {
	var req linkRequest
	if err := ctlReadJSON(r, &req); err != nil {
		ctlWriteError(w, http.StatusBadRequest, err)
		return
	}
	if req.From == "" || req.To == "" {
		ctlWriteError(w, http.StatusBadRequest, errors.New("from and to name the trunk's two nodes"))
		return
	}
	var cur LinkSettings
	for _, l := range a.net.Links() {
		if (l.From == req.From && l.To == req.To) || (l.From == req.To && l.To == req.From) {
			cur = l
		}
	}
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&cur.DelayMs, req.DelayMs)
	set(&cur.JitterMs, req.JitterMs)
	set(&cur.Loss, req.Loss)
	set(&cur.Burst, req.Burst)
	cur.From, cur.To = req.From, req.To
	out, err := a.net.SetLink(cur)
	switch {
	case errors.Is(err, errNoSuchTrunk):
		ctlWriteError(w, http.StatusNotFound, err)
	case err != nil:
		ctlWriteError(w, http.StatusBadRequest, err)
	default:
		a.net.logger.Info("demo link changed", "from", out.From, "to", out.To, "delay_ms", out.DelayMs,
			"jitter_ms", out.JitterMs, "loss", out.Loss, "burst", out.Burst)
		ctlWriteJSON(w, http.StatusOK, out)
	}
}

// nodeRequest is POST /api/demo/node's body.
type nodeRequest struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

func (a *demoAPI) handleNode(w http.ResponseWriter, r *http.Request, self string) {
	var req nodeRequest
	if err := ctlReadJSON(r, &req); err != nil {
		ctlWriteError(w, http.StatusBadRequest, err)
		return
	}
	var err error
	switch req.Action {
	case "stop":
		if req.Name == self {
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				// Close waits for this request to end, so it runs after.
				if err := a.net.StopNode(self); err != nil {
					a.net.logger.Warn("demo node stop", "node", self, "err", err)
				}
			}()
			ctlWriteJSON(w, http.StatusAccepted, map[string]any{"name": req.Name, "action": req.Action, "pending": true})
			return
		}
		err = a.net.StopNode(req.Name)
	case "start":
		err = a.net.StartNode(req.Name)
	default:
		ctlWriteError(w, http.StatusBadRequest, fmt.Errorf("action %q: want \"stop\" or \"start\"", req.Action))
		return
	}
	switch {
	case errors.Is(err, errNoSuchNode):
		ctlWriteError(w, http.StatusNotFound, err)
	case err != nil:
		ctlWriteError(w, http.StatusInternalServerError, err)
	default:
		a.net.logger.Info("demo node control", "node", req.Name, "action", req.Action)
		ctlWriteJSON(w, http.StatusOK, map[string]any{"name": req.Name, "action": req.Action})
	}
}

// wait waits for self-stops in progress.
func (a *demoAPI) wait() { a.wg.Wait() }

func ctlReadJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody+1))
	if err != nil {
		return err
	}
	if len(b) > maxControlBody {
		return fmt.Errorf("body over %d bytes", maxControlBody)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body is not the expected JSON object: %w", err)
	}
	return nil
}

func ctlWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ctlWriteError(w http.ResponseWriter, status int, err error) {
	ctlWriteJSON(w, status, map[string]string{"error": err.Error()})
}
