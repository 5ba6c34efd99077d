package node

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/qrtn/qrtn/webhook"
)

// webhookFlush is how long Close waits for queued events (the draining
// notice among them) to go out.
const webhookFlush = 2 * time.Second

// initWebhooks starts delivery when URLs are configured, and on an access
// node the source of room events.
func (n *Node) initWebhooks() error {
	wc := n.cfg.Webhooks
	if len(wc.URLs) == 0 {
		return nil
	}
	if wc.Secret == "" {
		wc.Secret = n.cfg.APISecret
	}
	s, err := webhook.New(wc, n.cfg.Name, n.cfg.Region, n.log.With("part", "webhook"))
	if err != nil {
		return err
	}
	n.edge.hooks = s
	n.reg.MustRegister(newWebhookCollector(s))
	if n.sfu != nil {
		n.edge.events = newEventSource(n, s)
	}
	return nil
}

// notifyDraining tells the webhooks the node is going away (Close).
func (n *Node) notifyDraining() {
	if n.edge.hooks != nil {
		n.edge.drained.Do(func() { n.edge.hooks.Notify(webhook.Event{Event: webhook.NodeDraining}) })
	}
}

// QualityAlert sends a quality alert from the QoE platform to the webhooks
// (the seam for the alerting of issue 10): Kind names the check, Subject
// what it is about (a node, a trunk from→to, a participant).
func (n *Node) QualityAlert(a webhook.Alert) {
	if n.edge.hooks != nil {
		n.edge.hooks.Notify(webhook.Event{Event: webhook.QualityAlertReceived, Alert: &a})
	}
}

// ParticipantMoved reports a participant that a migration moved to this
// node from another (the seam for the resilience work: the event source
// also infers it when an identity joins here while another node still
// has it).
func (n *Node) ParticipantMoved(room, identity, name, from string) {
	if n.edge.hooks != nil {
		n.edge.hooks.Notify(webhook.Event{Event: webhook.ParticipantMoved, Room: &webhook.Room{Name: room},
			Participant: &webhook.Participant{Identity: identity, Name: name, From: from}})
	}
}

// webhookCollector exports delivery figures per URL.
type webhookCollector struct {
	s                                                   *webhook.Sender
	queued, delivered, failures, dropped, expired, late *prometheus.Desc
}

func newWebhookCollector(s *webhook.Sender) *webhookCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("qrtn_webhook_"+name, help, []string{"url"}, nil)
	}
	return &webhookCollector{s: s,
		queued:    d("queued", "Events waiting for delivery."),
		delivered: d("delivered_total", "Events delivered (a 2xx answer)."),
		failures:  d("failures_total", "Failed attempts (refused, timed out, non-2xx), each retried with back-off."),
		dropped:   d("dropped_total", "Events dropped because the URL's queue was full."),
		expired:   d("expired_total", "Events dropped after the retry window without a delivery."),
		late:      d("last_delivery_seconds", "From the event to its delivery, for the last one delivered."),
	}
}

// Describe lists the metrics (prometheus.Collector).
func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queued, c.delivered, c.failures, c.dropped, c.expired, c.late} {
		ch <- d
	}
}

// Collect reports every URL (prometheus.Collector).
func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.s.Stats() {
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Queued), st.URL)
		ch <- prometheus.MustNewConstMetric(c.delivered, prometheus.CounterValue, float64(st.Delivered), st.URL)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.Failures), st.URL)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(st.Dropped), st.URL)
		ch <- prometheus.MustNewConstMetric(c.expired, prometheus.CounterValue, float64(st.Expired), st.URL)
		ch <- prometheus.MustNewConstMetric(c.late, prometheus.GaugeValue, st.LastLatency.Seconds(), st.URL)
	}
}
