package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/signaling"
)

// JoinConfig is the node's scheduling section (YAML key "scheduler"):
// where the node stands and how many users it takes, which it announces to
// every scheduler in its link state, and how its own /api/join schedules.
type JoinConfig struct {
	// Lat and Lon are the node's location in degrees (both 0: none). With
	// them, schedulers estimate a user's RTT from GeoIP distance.
	Lat float64 `yaml:"lat"`
	Lon float64 `yaml:"lon"`
	// Capacity is the number of users (browser participants) at which the
	// node is full and no scheduler sends it more. Default 500.
	Capacity int `yaml:"capacity"`
	// PublicURL is the node's HTTP base as browsers reach it (default
	// its listener's address), announced to the other nodes' schedulers.
	PublicURL string `yaml:"public_url"`
	// GeoIP is an optional MaxMind-format database (GeoLite2-City or
	// similar) to locate client addresses.
	GeoIP string `yaml:"geoip"`
	// TrustForwardedFor takes the client address from the first
	// X-Forwarded-For entry (behind a trusted proxy only).
	TrustForwardedFor bool `yaml:"trust_forwarded_for"`
	// Rate and Burst limit /api/join and /api/ping per client address
	// (defaults 5 per second, burst 30).
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// HistoryEvery and HistoryWindow: how often the QoE history is read
	// from the quality store, and how far back (defaults 1 min and 24 h).
	HistoryEvery  time.Duration `yaml:"history_every"`
	HistoryWindow time.Duration `yaml:"history_window"`
	// PingDelay delays /api/ping answers: an emulated user-to-node delay,
	// so that probes on loopback tell regions apart (qrtn demo --user-delay).
	PingDelay time.Duration `yaml:"-"`
	// Scheduler tunes the scoring (scheduler.Config: weights, the network
	// → region table, region coordinates).
	Scheduler scheduler.Config `yaml:",inline"`
}

func (c JoinConfig) withDefaults() JoinConfig {
	if c.Capacity <= 0 {
		c.Capacity = 500
	}
	if c.Rate <= 0 {
		c.Rate = 5
	}
	if c.Burst <= 0 {
		c.Burst = 30
	}
	if c.HistoryEvery <= 0 {
		c.HistoryEvery = time.Minute
	}
	if c.HistoryWindow <= 0 {
		c.HistoryWindow = 24 * time.Hour
	}
	return c
}

// joiner serves /api/join and /api/ping from the node's own view of the
// network: every node answers, no single scheduler can fail.
type joiner struct {
	n        *Node
	cfg      JoinConfig
	sched    *scheduler.Scheduler
	geo      *scheduler.GeoIP
	verify   *signaling.Verifier
	limit    *limiter
	history  *scheduler.HistoryTable // filled by the QoE plane (JoinHistory)
	metrics  *joinMetrics
	draining atomic.Bool
}

// newJoiner builds the node's scheduler (after its trunk and registry).
func (n *Node) newJoiner() error {
	cfg := n.cfg.Scheduler.withDefaults()
	j := &joiner{n: n, cfg: cfg, limit: newLimiter(cfg.Rate, cfg.Burst), history: &scheduler.HistoryTable{}}
	opts := scheduler.Options{History: j.history}
	if cfg.GeoIP != "" {
		g, err := scheduler.OpenGeoIP(cfg.GeoIP)
		if err != nil {
			return fmt.Errorf("node: scheduler: %w", err)
		}
		j.geo, opts.Geo = g, g
	}
	v, err := signaling.NewVerifier(n.cfg.APIKey, n.cfg.APISecret)
	if err != nil {
		return err
	}
	j.verify = v
	if tc := n.cfg.Trunk; cfg.Scheduler.StaleAfter == 0 && tc != nil && tc.LinkStateInterval > 0 {
		// A record is refreshed every interval: two and a half without one
		// is a node that stopped announcing, not a late record.
		cfg.Scheduler.StaleAfter = tc.LinkStateInterval * 5 / 2
	}
	j.sched = scheduler.New(cfg.Scheduler, opts)
	j.metrics = newJoinMetrics(j)
	if err := n.reg.Register(j.metrics); err != nil {
		return err
	}
	if n.trunk != nil {
		if cfg.Lat != 0 || cfg.Lon != 0 {
			n.trunk.SetLocation(cfg.Lat, cfg.Lon)
		}
		n.trunk.SetKeyID(n.cfg.APIKey)
		if cfg.PublicURL != "" {
			n.trunk.SetHTTP(cfg.PublicURL)
		}
	}
	n.join = j
	return nil
}

// joinRoutes adds the scheduler's endpoints.
func (n *Node) joinRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/join", n.join.handleJoin)
	mux.HandleFunc("GET /api/ping", n.join.handlePing)
}

// SetDraining makes the node take no new users (or take them again): its
// own scheduler stops choosing it at once, its link state tells every
// other node's scheduler within a round trip, and its signaling refuses
// new joins (`draining`), so a client holding an older decision moves on
// to its next candidate. Users already on the node stay.
func (n *Node) SetDraining(on bool) {
	n.join.draining.Store(on)
	if n.trunk != nil {
		n.trunk.SetDraining(on)
	}
	if n.sig != nil {
		n.sig.SetDraining(on)
	}
	n.log.Info("draining", "on", on)
}

// Scheduler is the node's scheduler.
func (n *Node) Scheduler() *scheduler.Scheduler { return n.join.sched }

// JoinHistory is the QoE history the node's scheduler weighs: empty
// (neutral) until the quality plane fills it with Replace, by client
// network (scheduler.NetworkOf) and region, per node.
func (n *Node) JoinHistory() *scheduler.HistoryTable { return n.join.history }

// announceUsers keeps the node's announced user count current until the
// node closes.
func (j *joiner) announceUsers(done <-chan struct{}) {
	if j.n.trunk == nil || j.n.sig == nil {
		return
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		j.n.trunk.SetUsers(j.n.sig.Connections(), j.cfg.Capacity)
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

func (j *joiner) close() {
	if j != nil && j.geo != nil {
		_ = j.geo.Close()
	}
}

// handlePing is the probe target: small, cheap, never cached, readable
// and timeable from any origin.
func (j *joiner) handlePing(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Timing-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	if !j.limit.allow(time.Now(), j.clientAddr(r)) {
		j.metrics.errors.WithLabelValues("rate_limited").Inc()
		writeJoinError(w, http.StatusTooManyRequests, "rate_limited", "too many requests from your address: slow down")
		return
	}
	if room := r.URL.Query().Get("room"); room != "" && j.n.trunk != nil {
		// A client that may join here soon: ask for the room's key frames
		// now (trunk/warm.go); cheap, and nothing for a room not here.
		j.n.trunk.WarmRoom(room)
	}
	if d := j.cfg.PingDelay; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	h.Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"node":%q,"region":%q}`, j.n.cfg.Name, j.n.cfg.Region)
}

// joinAnswer is GET /api/join's body (architecture.md, "Contracts").
type joinAnswer struct {
	Node         string                `json:"node"`
	Region       string                `json:"region"`
	URL          string                `json:"url"`
	Score        float64               `json:"score"`
	Summary      string                `json:"summary"`
	Reason       string                `json:"reason"`
	Reasons      []string              `json:"reasons"`
	Breakdown    scheduler.Candidate   `json:"breakdown"`
	Alternatives []scheduler.Candidate `json:"alternatives"`
	Excluded     []scheduler.Excluded  `json:"excluded,omitempty"`
	Location     scheduler.Location    `json:"location"`
	Probes       []probeTarget         `json:"probes,omitempty"`
	Token        string                `json:"token,omitempty"`
	Identity     string                `json:"identity,omitempty"`
	AnsweredBy   string                `json:"answered_by"`
}

type probeTarget struct {
	Node   string `json:"node"`
	Region string `json:"region"`
	URL    string `json:"url"`
}

// handleJoin: GET /api/join?room=R&name=N[&region=R][&rtt=node:ms,...]
// [&node=NAME][&policy=auto|nearest|single][&role=host|viewer][&identity=I].
func (j *joiner) handleJoin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-store")
	now := time.Now()
	addr := j.clientAddr(r)
	if !j.limit.allow(now, addr) {
		j.metrics.errors.WithLabelValues("rate_limited").Inc()
		writeJoinError(w, http.StatusTooManyRequests, "rate_limited", "too many join requests from your address: slow down")
		return
	}
	req, grant, status, code, err := j.parse(r, now)
	if err != nil {
		j.metrics.errors.WithLabelValues(code).Inc()
		writeJoinError(w, status, code, err.Error())
		return
	}
	req.Addr = addr
	view, kids := j.view(now, req.Room)
	d, err := j.sched.Place(now, req, view)
	j.metrics.observe(req, d, err, time.Since(now))
	switch {
	case errors.Is(err, scheduler.ErrPinned):
		writeJoinError(w, http.StatusConflict, "pinned_unavailable", err.Error())
		return
	case err != nil:
		writeJoinError(w, http.StatusServiceUnavailable, "no_healthy_node", err.Error()+": try again in a few seconds")
		return
	}
	c := d.Chosen()
	ans := joinAnswer{Node: c.Node, Region: c.Region, URL: c.URL, Score: c.Score, Summary: d.Summary(),
		Reason: d.Reason, Reasons: d.Reasons, Breakdown: c, Alternatives: d.Ranked[1:], Excluded: d.Excluded,
		Location: d.Location, AnsweredBy: j.n.cfg.Name}
	if ans.Alternatives == nil {
		ans.Alternatives = []scheduler.Candidate{}
	}
	if len(req.RTTs) == 0 && req.Pin == "" {
		ans.Probes = j.probeTargets(d)
	}
	// A token this node signs works on the chosen node only if that node
	// accepts this node's API key; else the client gets one there.
	if ans.Identity = grant.Identity; c.Node == j.n.cfg.Name || kids[c.Node] == j.n.cfg.APIKey {
		if ans.Token, err = j.n.MintToken(grant, j.n.cfg.DevTokenTTL); err != nil {
			writeJoinError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

// probeTargets are the nodes the client should measure: one per region,
// when there is more than one region to tell apart.
func (j *joiner) probeTargets(d scheduler.Decision) []probeTarget {
	if len(d.Probes) < 2 {
		return nil
	}
	url := map[string]scheduler.Candidate{}
	for _, c := range d.Ranked {
		url[c.Node] = c
	}
	out := make([]probeTarget, 0, len(d.Probes))
	for _, p := range d.Probes {
		out = append(out, probeTarget{Node: p, Region: url[p].Region, URL: url[p].URL})
	}
	return out
}

func writeJoinError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "error": msg})
}

// startJoiner runs the joiner's background work until the node closes.
func (n *Node) startJoiner(context.Context) {
	go n.join.announceUsers(n.done)
	go n.join.historyLoop(n.done)
}

// parseName checks a free-text request field.
func parseName(what, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", fmt.Errorf("%s is required", what)
	case len(s) > 128:
		return "", fmt.Errorf("%s is longer than 128 bytes", what)
	}
	return s, nil
}
