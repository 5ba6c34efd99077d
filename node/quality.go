package node

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/alert"
	"github.com/qrtn/qrtn/qoe/collect"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/signaling"
)

// QualityConfig is the node's part of the quality platform (qoe/): what
// its clients report, what its SFU and trunks measure, the SLA metrics
// and alerts, and the /quality page.
type QualityConfig struct {
	// Database is where records go: a postgres:// URL (one database for
	// the whole network, so that every hop's records meet) or a SQLite
	// file. Default: quality.db in the node's data_dir; with neither, the
	// node keeps no records (metrics and alerts still work).
	Database string `yaml:"database"`
	// Retention deletes records older than this (default 7 days).
	Retention time.Duration `yaml:"retention"`
	// SampleEvery is the period of trunk hop and node samples (2 s);
	// subscriptions are sampled every 5 s, as clients report.
	SampleEvery time.Duration `yaml:"sample_every"`
	// SubscriptionEvery is the period of the samples of subscriptions and
	// publications (5 s, as clients report).
	SubscriptionEvery time.Duration `yaml:"subscription_every"`
	// MaxPending bounds the records held while the database is away
	// (50 000); beyond it they are dropped and counted.
	MaxPending int `yaml:"max_pending"`
	// Disabled turns the quality platform off: reports are dropped.
	Disabled bool `yaml:"disabled"`
}

func (c QualityConfig) withDefaults(dataDir string) QualityConfig {
	if c.Database == "" && dataDir != "" {
		c.Database = filepath.Join(dataDir, "quality.db")
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = 2 * time.Second
	}
	if c.SubscriptionEvery <= 0 {
		c.SubscriptionEvery = 5 * time.Second
	}
	return c
}

// qualityPlane is the node's quality driver: the signaling's QualitySink,
// the samplers of its SFU and trunks, the alerts and the metrics. Records
// go to a store.Writer, never waiting on the database.
type qualityPlane struct {
	n   *Node
	cfg QualityConfig
	log *slog.Logger
	w   *store.Writer // nil without a database
	m   *qualityMetrics

	mu       sync.Mutex
	sessions map[string]*qsession // by session id
	// byName: by room and participant (the newest session of an
	// identity), for the latency estimate's look-up of a local publisher.
	byName map[string]*qsession
	alerts *alert.Engine
	recent joins
	closed bool

	samp sampler // the sampler goroutine's state

	stop chan struct{}
	done chan struct{}
}

// qsession is one session's quality core. Its client's reports (the
// signaling goroutine), the sampler's ticks and the session's end come from
// different goroutines, so calls on core hold mu. The RTT other sessions'
// estimates read is kept apart in an atomic, so that no session's lock is
// ever taken while another's is held.
type qsession struct {
	info signaling.SessionInfo
	mu   sync.Mutex
	core *collect.Session
	rtt  atomic.Uint64 // math.Float64bits of core.RTT() after the last report
}

// end, report and tick call the core under the session's lock.
func (qs *qsession) end(now int64) collect.Output {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return qs.core.End(now)
}

func (qs *qsession) report(now int64, r *qoe.ClientReport, est collect.Estimator) collect.Output {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	out := qs.core.Report(now, r, est)
	qs.rtt.Store(math.Float64bits(qs.core.RTT()))
	return out
}

func (qs *qsession) tick(now int64) collect.Output {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return qs.core.Tick(now)
}

// startQuality builds the node's quality plane and starts its sampler.
func (n *Node) startQuality() error {
	cfg := n.cfg.Quality.withDefaults(n.cfg.DataDir)
	if cfg.Disabled {
		return nil
	}
	q := &qualityPlane{n: n, cfg: cfg, log: n.log.With("part", "quality"), sessions: map[string]*qsession{}, byName: map[string]*qsession{},
		alerts: alert.New(n.cfg.Name, alert.DefaultRules()), stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.Database != "" {
		if _, _, err := store.ParseDSN(cfg.Database); err != nil {
			return fmt.Errorf("node: quality: %w", err)
		}
		q.w = store.OpenWriter(cfg.Database, store.WriterConfig{MaxPending: cfg.MaxPending, Retention: cfg.Retention}, q.log)
	}
	q.m = newQualityMetrics(q)
	n.reg.MustRegister(q.m)
	if n.sig != nil {
		n.sig.SetQuality(q)
	}
	n.quality = q
	go q.run()
	return nil
}

// close stops the sampler and writes what is pending.
func (q *qualityPlane) close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	now := time.Now().UnixMilli()
	ending := make([]*qsession, 0, len(q.sessions))
	for id, s := range q.sessions {
		ending = append(ending, s)
		delete(q.sessions, id)
	}
	clear(q.byName)
	q.mu.Unlock()
	// Ended outside q.mu: a report holding a session's lock may be waiting
	// for q.mu (its latency estimate reads other sessions).
	var recs []qoe.Record
	for _, s := range ending {
		recs = append(recs, s.end(now).Records...)
	}
	close(q.stop)
	<-q.done
	if q.w == nil {
		return nil
	}
	q.add(recs...)
	err := q.w.Close()
	if s := q.w.Store(); s != nil {
		err = errors.Join(err, s.Close())
	}
	return err
}

// add queues records for the store; without one they are not kept.
func (q *qualityPlane) add(recs ...qoe.Record) {
	if q.w == nil {
		return
	}
	for _, r := range recs {
		q.w.Add(r)
	}
}

// SessionStarted: a participant joined this node.
func (q *qualityPlane) SessionStarted(s signaling.SessionInfo) {
	now := time.Now().UnixMilli()
	name := s.Name
	if name == "" {
		name = s.Participant
	}
	core := collect.NewSession(qoe.Call{Session: s.ID, Room: s.Room, Participant: s.Participant, Name: name,
		Node: q.n.cfg.Name, Region: q.n.cfg.Region, Network: callNetwork(s.Addr), JoinedAt: now})
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	qs := &qsession{info: s, core: core}
	q.sessions[s.ID] = qs
	q.byName[nameKey(s.Room, s.Participant)] = qs
	q.mu.Unlock()
	q.add(core.Start().Records...)
	q.add(q.event(s, now, "join", "joined "+q.n.cfg.Name))
}

// SessionResumed: the client came back on a new websocket.
func (q *qualityPlane) SessionResumed(s signaling.SessionInfo) {
	q.m.reconnects.Inc()
	q.add(q.event(s, time.Now().UnixMilli(), "reconnect", "resumed the session on a new websocket"))
}

// SessionEnded: the participant left (reason nil) or was removed.
func (q *qualityPlane) SessionEnded(s signaling.SessionInfo, reason error) {
	now := time.Now().UnixMilli()
	q.mu.Lock()
	qs := q.sessions[s.ID]
	delete(q.sessions, s.ID)
	if k := nameKey(s.Room, s.Participant); qs != nil && q.byName[k] == qs {
		delete(q.byName, k)
	}
	q.mu.Unlock()
	if qs == nil {
		return
	}
	out := qs.end(now)
	q.account(out)
	q.add(out.Records...)
	why := "left"
	if reason != nil {
		why = reason.Error()
	}
	q.add(q.event(s, now, "leave", why))
}

// SessionEvent records layer switches and mutes on the timeline.
func (q *qualityPlane) SessionEvent(s signaling.SessionInfo, ev sfu.Event) {
	now := time.Now().UnixMilli()
	switch e := ev.(type) {
	case sfu.LayerChanged:
		why := e.Reason
		if why == "" {
			why = "forwarder"
		}
		q.m.layerSwitches.WithLabelValues(why).Inc()
		q.add(q.event(s, now, "layer", fmt.Sprintf("%s/%s → %s (%s)", e.ParticipantID, e.TrackID, e.Layer, why)))
	case sfu.TrackMuted:
		verb := "unmuted"
		if e.Muted {
			verb = "muted"
		}
		q.add(q.event(s, now, "mute", fmt.Sprintf("%s/%s %s %s", e.ParticipantID, e.TrackID, e.Kind, verb)))
	}
}

// SessionReport turns a client's checked report into records.
func (q *qualityPlane) SessionReport(s signaling.SessionInfo, r *qoe.ClientReport) {
	now := time.Now().UnixMilli()
	q.mu.Lock()
	qs := q.sessions[s.ID]
	q.mu.Unlock()
	if qs == nil {
		return
	}
	out := qs.report(now, r, q.estimator(s.Room))
	q.m.reports.Inc()
	q.account(out)
	q.add(out.Records...)
}

// account feeds an output's stalls, join time, latency and minutes to the
// metrics.
func (q *qualityPlane) account(out collect.Output) {
	for _, st := range out.Stalls {
		q.m.stalls.WithLabelValues(st.Kind).Inc()
	}
	if out.JoinMs > 0 {
		q.m.join.Observe(float64(out.JoinMs) / 1000)
		q.mu.Lock()
		q.recent.add(out.JoinMs)
		q.mu.Unlock()
	}
	for _, l := range out.Latency {
		src := l.SrcRegion
		if src == "" {
			src = "unknown"
		}
		q.m.e2e.WithLabelValues(src, q.n.cfg.Region, fmt.Sprint(l.Estimated)).Observe(l.Ms / 1000)
	}
	if out.Minutes > 0 {
		q.m.minutes(time.Now().UnixMilli(), out.Minutes, out.StalledMinutes)
	}
}

func (q *qualityPlane) event(s signaling.SessionInfo, at int64, kind, detail string) qoe.Event {
	return qoe.Event{Session: s.ID, Room: s.Room, Participant: s.Participant, Node: q.n.cfg.Name, At: at, Kind: kind, Detail: detail}
}

// joins keeps the last join times for the join-time alert.
type joins struct{ ms []int }

func (j *joins) add(ms int) {
	j.ms = append(j.ms, ms)
	if len(j.ms) > 20 {
		j.ms = j.ms[1:]
	}
}
