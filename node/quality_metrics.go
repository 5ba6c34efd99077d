package node

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// complianceWindow is how many minutes the stall-compliance gauge and
// alert look back.
const complianceWindow = 10

// qualityMetrics are the node's SLA metrics (docs/grafana/ has a
// dashboard for them).
type qualityMetrics struct {
	q *qualityPlane

	reports, reconnects prometheus.Counter
	stalls              *prometheus.CounterVec
	layerSwitches       *prometheus.CounterVec
	partMinutes         prometheus.Counter
	stalledMinutes      prometheus.Counter
	join                prometheus.Histogram
	e2e                 *prometheus.HistogramVec
	alerts              *prometheus.CounterVec

	compDesc, firingDesc, writtenDesc, droppedDesc, pendingDesc, failDesc, healthyDesc *prometheus.Desc

	mu     sync.Mutex
	recent map[int64][2]int // minute → participant-minutes, stalled minutes
}

func newQualityMetrics(q *qualityPlane) *qualityMetrics {
	m := &qualityMetrics{q: q, recent: map[int64][2]int{},
		reports: prometheus.NewCounter(prometheus.CounterOpts{Name: "qrtn_quality_reports_total",
			Help: "Quality reports accepted from clients."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "qrtn_quality_reconnects_total",
			Help: "Sessions resumed on a new websocket."}),
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qrtn_quality_stalls_total",
			Help: "Stalls seen by this node's subscribers: video 600 ms or audio 200 ms not rendered."}, []string{"kind"}),
		layerSwitches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qrtn_quality_layer_switches_total",
			Help: "Layer switches of this node's subscribers, by reason."}, []string{"reason"}),
		partMinutes: prometheus.NewCounter(prometheus.CounterOpts{Name: "qrtn_quality_participant_minutes_total",
			Help: "Participant-minutes on this node."}),
		stalledMinutes: prometheus.NewCounter(prometheus.CounterOpts{Name: "qrtn_quality_stalled_minutes_total",
			Help: "Participant-minutes with at least one stall; stall compliance is 1 - stalled/participant minutes."}),
		join: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "qrtn_quality_join_seconds",
			Help:    "Join time: from the token request to the first frame (or the media connection when nothing is received).",
			Buckets: []float64{0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13}}),
		e2e: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "qrtn_quality_e2e_latency_seconds",
			Help:    "End-to-end latency of received tracks by publisher and subscriber region; estimated=true when estimated from the route.",
			Buckets: []float64{0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.2, 2}}, []string{"src_region", "dst_region", "estimated"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qrtn_quality_alerts_total",
			Help: "Quality alerts raised by this node, by kind."}, []string{"kind"}),
		compDesc: prometheus.NewDesc("qrtn_quality_stall_compliance",
			"Share of participant-minutes without a stall over the last 10 minutes (1 without any).", nil, nil),
		firingDesc:  prometheus.NewDesc("qrtn_quality_alerts_firing", "Quality alerts firing now, by kind.", []string{"kind"}, nil),
		writtenDesc: prometheus.NewDesc("qrtn_quality_records_written_total", "Quality records written to the store.", nil, nil),
		droppedDesc: prometheus.NewDesc("qrtn_quality_records_dropped_total", "Quality records dropped because too many waited for the store.", nil, nil),
		pendingDesc: prometheus.NewDesc("qrtn_quality_records_pending", "Quality records waiting for the store.", nil, nil),
		failDesc:    prometheus.NewDesc("qrtn_quality_store_failures_total", "Failed writes to the quality store (retried).", nil, nil),
		healthyDesc: prometheus.NewDesc("qrtn_quality_store_healthy", "1 while the quality store takes writes.", nil, nil),
	}
	return m
}

func (m *qualityMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.reports, m.reconnects, m.stalls, m.layerSwitches, m.partMinutes, m.stalledMinutes,
		m.join, m.e2e, m.alerts}
}

// Describe implements prometheus.Collector.
func (m *qualityMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{m.compDesc, m.firingDesc, m.writtenDesc, m.droppedDesc, m.pendingDesc, m.failDesc, m.healthyDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *qualityMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	c, _ := m.compliance(time.Now().UnixMilli())
	ch <- prometheus.MustNewConstMetric(m.compDesc, prometheus.GaugeValue, c)
	m.q.mu.Lock()
	firing := m.q.alerts.Firing()
	m.q.mu.Unlock()
	for kind, n := range firing {
		ch <- prometheus.MustNewConstMetric(m.firingDesc, prometheus.GaugeValue, float64(n), kind)
	}
	if w := m.q.w; w != nil {
		st := w.Stats()
		healthy := 0.0
		if st.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(m.writtenDesc, prometheus.CounterValue, float64(st.Written))
		ch <- prometheus.MustNewConstMetric(m.droppedDesc, prometheus.CounterValue, float64(st.Dropped))
		ch <- prometheus.MustNewConstMetric(m.pendingDesc, prometheus.GaugeValue, float64(st.Pending))
		ch <- prometheus.MustNewConstMetric(m.failDesc, prometheus.CounterValue, float64(st.Failures))
		ch <- prometheus.MustNewConstMetric(m.healthyDesc, prometheus.GaugeValue, healthy)
	}
}

// minutes counts participant-minutes that ended by now.
func (m *qualityMetrics) minutes(now int64, minutes, stalled int) {
	m.partMinutes.Add(float64(minutes))
	m.stalledMinutes.Add(float64(stalled))
	cur := now / 60_000
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.recent[cur]
	m.recent[cur] = [2]int{x[0] + minutes, x[1] + stalled}
	for k := range m.recent {
		if k <= cur-complianceWindow {
			delete(m.recent, k)
		}
	}
}

// compliance is the stall compliance over the last minutes (1 with
// none), and how many participant-minutes it covers.
func (m *qualityMetrics) compliance(now int64) (float64, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	total, stalled := 0, 0
	for k, x := range m.recent {
		if k <= now/60_000-complianceWindow {
			continue
		}
		total += x[0]
		stalled += x[1]
	}
	if total == 0 {
		return 1, 0
	}
	return 1 - float64(stalled)/float64(total), total
}
