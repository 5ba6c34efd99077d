package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/qrtn/qrtn/sfu"
)

// collector exports one SFU snapshot per scrape.
type collector struct {
	sfu   *sfu.SFU
	conns func() int

	rooms, participants, tracks, downtracks, connections *prometheus.Desc
	bytes, packets, nacks, retransmits, plis, switches   *prometheus.Desc
	replays                                              *prometheus.Desc
	badPackets, fecPackets, fecBytes                     *prometheus.Desc
	publisherRTX, strayPackets                           *prometheus.Desc
	ddErrors                                             *prometheus.Desc
}

func newCollector(s *sfu.SFU, conns func() int) *collector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc("qrtn_"+name, help, nil, nil) }
	return &collector{
		sfu: s, conns: conns,
		rooms:        d("rooms", "Rooms open on this node."),
		participants: d("participants", "Participants in all rooms."),
		tracks:       d("tracks", "Published tracks."),
		downtracks:   d("downtracks", "Subscriptions (one down-track per subscriber and track)."),
		connections:  d("signaling_connections", "Open signaling websockets."),
		bytes:        d("forwarded_bytes_total", "RTP bytes sent to subscribers, retransmissions included."),
		packets:      d("forwarded_packets_total", "RTP packets forwarded to subscribers."),
		nacks:        d("nacks_total", "Sequence numbers NACKed by subscribers."),
		retransmits:  d("retransmits_total", "Packets resent to subscribers from the packet caches."),
		plis:         d("plis_total", "Key frame requests (PLI) sent to publishers."),
		replays:      d("keyframe_replays_total", "Subscribers started from a cached key frame instead of a PLI."),
		switches:     d("layer_switches_total", "Simulcast layer switches made by down-tracks."),
		badPackets:   d("bad_packets_total", "Unparsable RTP packets received from publishers."),
		fecPackets:   d("fec_packets_total", "FlexFEC repair packets sent to subscribers."),
		fecBytes:     d("fec_bytes_total", "FlexFEC repair bytes sent to subscribers."),
		publisherRTX: d("publisher_rtx_total", "Retransmissions (RTX) received from publishers and forwarded."),
		strayPackets: d("stray_packets_total", "Publisher packets dropped for arriving on a simulcast layer bound to another SSRC."),
		ddErrors:     d("dd_parse_errors_total", "AV1 dependency descriptors received that could not be parsed (malformed, or before their template structure)."),
	}
}

// Describe lists the metrics (prometheus.Collector).
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.participants, c.tracks, c.downtracks, c.connections,
		c.bytes, c.packets, c.nacks, c.retransmits, c.plis, c.replays, c.switches, c.badPackets, c.fecPackets, c.fecBytes,
		c.publisherRTX, c.strayPackets, c.ddErrors} {
		ch <- d
	}
}

// Collect takes one SFU snapshot and reports it (prometheus.Collector).
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.sfu.Stats()
	g := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	n := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	g(c.rooms, st.Rooms)
	g(c.participants, st.Participants)
	g(c.tracks, st.Tracks)
	g(c.downtracks, st.DownTracks)
	g(c.connections, c.conns())
	n(c.bytes, st.BytesForwarded)
	n(c.packets, st.PacketsForwarded)
	n(c.nacks, st.NACKs)
	n(c.retransmits, st.Retransmits)
	n(c.plis, st.PLIs)
	n(c.replays, st.KeyframeReplays)
	n(c.switches, st.LayerSwitches)
	n(c.badPackets, st.BadPackets)
	n(c.fecPackets, st.FECPackets)
	n(c.fecBytes, st.FECBytes)
	n(c.publisherRTX, st.PublisherRTX)
	n(c.strayPackets, st.StrayPackets)
	n(c.ddErrors, st.DDErrors)
}
