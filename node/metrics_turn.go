package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/qrtn/qrtn/turnsrv"
)

// turnCollector exports the TURN server's counters.
type turnCollector struct {
	s                                          *turnsrv.Server
	allocs, allocsTotal, bytes, refused, drops *prometheus.Desc
}

func newTURNCollector(s *turnsrv.Server) *turnCollector {
	return &turnCollector{s: s,
		allocs:      prometheus.NewDesc("qrtn_turn_allocations", "TURN relays open now.", nil, nil),
		allocsTotal: prometheus.NewDesc("qrtn_turn_allocations_total", "TURN relays opened, by the client's transport to the server.", []string{"transport"}, nil),
		bytes:       prometheus.NewDesc("qrtn_turn_relayed_bytes_total", "Bytes relayed between clients and the node's media, by transport and direction (to_media, from_media).", []string{"transport", "direction"}, nil),
		refused:     prometheus.NewDesc("qrtn_turn_refused_total", "TURN requests refused: permission (a peer outside the node), port (a packet to another port of the node), quota, auth.", []string{"reason"}, nil),
		drops:       prometheus.NewDesc("qrtn_turn_rate_drops_total", "Relayed packets dropped above the per-relay bitrate cap.", nil, nil),
	}
}

// Describe lists the metrics (prometheus.Collector).
func (c *turnCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.allocs, c.allocsTotal, c.bytes, c.refused, c.drops} {
		ch <- d
	}
}

// Collect reports the counters (prometheus.Collector).
func (c *turnCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(c.allocs, prometheus.GaugeValue, float64(st.Allocations))
	for tr, v := range st.AllocationsTotal {
		ch <- prometheus.MustNewConstMetric(c.allocsTotal, prometheus.CounterValue, float64(v), tr)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.ToPeerBytes[tr]), tr, "to_media")
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.FromPeerBytes[tr]), tr, "from_media")
	}
	for reason, v := range map[string]uint64{"permission": st.RefusedPermission, "port": st.RefusedPort, "quota": st.RefusedQuota, "auth": st.AuthFailures} {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(v), reason)
	}
	ch <- prometheus.MustNewConstMetric(c.drops, prometheus.CounterValue, float64(st.RateDrops))
}
