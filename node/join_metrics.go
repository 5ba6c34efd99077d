package node

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/qrtn/qrtn/scheduler"
)

// joinMetrics are the scheduler's Prometheus metrics: decisions by chosen
// node and reason, refusals by code, the RTTs clients probed, decision
// time, and, at scrape time, the load of every access node and its spread.
type joinMetrics struct {
	j         *joiner
	decisions *prometheus.CounterVec
	errors    *prometheus.CounterVec
	probeRTT  *prometheus.HistogramVec
	decide    prometheus.Histogram
	load      *prometheus.Desc
	spread    *prometheus.Desc
}

func newJoinMetrics(j *joiner) *joinMetrics {
	return &joinMetrics{
		j: j,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qrtn_sched_decisions_total",
			Help: "Join placements this node answered, by chosen node and main reason (affinity, rtt, geoip, network, hint, entry, spread, history, pinned)."},
			[]string{"node", "reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qrtn_sched_errors_total",
			Help: "Join requests refused, by error code (bad_hint, bad_probe, unknown_policy, rate_limited, no_healthy_node, ...)."},
			[]string{"code"}),
		probeRTT: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "qrtn_sched_probe_rtt_ms",
			Help:    "Round-trip times clients measured to nodes before joining, in ms, by node.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}, []string{"node"}),
		decide: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "qrtn_sched_decision_seconds",
			Help: "Time to place one join (view and scoring).", Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
		load: prometheus.NewDesc("qrtn_sched_node_load", "Users over capacity of each access node, as this node's scheduler sees it.",
			[]string{"node"}, nil),
		spread: prometheus.NewDesc("qrtn_sched_load_spread", "Highest minus lowest load among the access nodes that take users.", nil, nil),
	}
}

// observe counts one request's outcome.
func (m *joinMetrics) observe(req scheduler.Request, d scheduler.Decision, err error, took time.Duration) {
	m.decide.Observe(took.Seconds())
	switch {
	case errors.Is(err, scheduler.ErrPinned):
		m.errors.WithLabelValues("pinned_unavailable").Inc()
		return
	case err != nil:
		m.errors.WithLabelValues("no_healthy_node").Inc()
		return
	}
	m.decisions.WithLabelValues(d.Chosen().Node, d.Reason).Inc()
	known := map[string]bool{}
	for _, c := range d.Ranked {
		known[c.Node] = true
	}
	for _, e := range d.Excluded {
		known[e.Node] = true
	}
	for node, ms := range req.RTTs {
		if known[node] {
			m.probeRTT.WithLabelValues(node).Observe(ms)
		}
	}
}

// Describe lists the metrics (prometheus.Collector).
func (m *joinMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.decisions.Describe(ch)
	m.errors.Describe(ch)
	m.probeRTT.Describe(ch)
	m.decide.Describe(ch)
	ch <- m.load
	ch <- m.spread
}

// Collect reports the counters and the load of every access node now.
func (m *joinMetrics) Collect(ch chan<- prometheus.Metric) {
	m.decisions.Collect(ch)
	m.errors.Collect(ch)
	m.probeRTT.Collect(ch)
	m.decide.Collect(ch)
	lo, hi, any := 0.0, 0.0, false
	v, _ := m.j.view(time.Now(), "")
	for _, n := range v.Nodes {
		if !n.Access || n.Capacity <= 0 {
			continue
		}
		l := float64(n.Users) / float64(n.Capacity)
		ch <- prometheus.MustNewConstMetric(m.load, prometheus.GaugeValue, l, n.Name)
		if n.Draining || !n.Linked {
			continue
		}
		if !any || l < lo {
			lo = l
		}
		if !any || l > hi {
			hi = l
		}
		any = true
	}
	ch <- prometheus.MustNewConstMetric(m.spread, prometheus.GaugeValue, hi-lo)
}
