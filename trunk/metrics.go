package trunk

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the trunks' metrics, one series per peer, from the
// status snapshot (at most half a second old). Register it on the node's
// registry.
func (t *Trunk) Collector() prometheus.Collector { return &collector{t: t, d: newDescs()} }

type descs struct {
	up, rtt, minRTT, loss, bw, pacing                             *prometheus.Desc
	sent, recv, fec, retx, mediaOut, mediaIn, drops, tlDrops      *prometheus.Desc
	expired, flowsOut, flowsIn, connects                          *prometheus.Desc
	nodes, flows, failures, keyframes, loops, sinkOut, deliverOut *prometheus.Desc
	bufRequested, bufGranted, sendErrors                          *prometheus.Desc
}

func newDescs() descs {
	peer, dir := []string{"peer"}, []string{"direction"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("qrtn_trunk_"+name, help, labels, nil)
	}
	return descs{
		up:       d("up", "1 while the trunk to the peer is connected.", peer),
		rtt:      d("rtt_seconds", "Smoothed round-trip time of the trunk.", peer),
		minRTT:   d("min_rtt_seconds", "Minimum round-trip time of the trunk.", peer),
		loss:     d("loss_ratio", "Recent fraction of packets lost on the trunk before repair.", peer),
		bw:       d("bandwidth_bits_per_second", "Congestion controller's bandwidth estimate.", peer),
		pacing:   d("pacing_bits_per_second", "Pacing rate of the trunk.", peer),
		sent:     d("sent_bytes_total", "Bytes sent on the trunk (whole datagrams).", peer),
		recv:     d("received_bytes_total", "Bytes received on the trunk (whole datagrams).", peer),
		fec:      d("fec_bytes_total", "Bytes of FEC repair sent on the trunk.", peer),
		retx:     d("retransmitted_bytes_total", "Payload bytes retransmitted on the trunk.", peer),
		mediaOut: d("media_sent_bytes_total", "RTP bytes forwarded to the peer.", peer),
		mediaIn:  d("media_received_bytes_total", "RTP bytes received from the peer.", peer),
		drops:    d("media_dropped_total", "RTP packets not queued to the peer (send buffer full).", peer),
		tlDrops:  d("temporal_dropped_total", "RTP packets of VP9/AV1 temporal layers the peer does not want, not sent.", peer),
		expired:  d("messages_expired_total", "Media messages that missed their deadline on the trunk.", peer),
		flowsOut: d("forwarded_tracks", "Track layers forwarded to the peer.", peer),
		flowsIn:  d("received_tracks", "Track layers received from the peer.", peer),
		connects: d("connects_total", "Connections made on the trunk (first and re-dials).", peer),

		nodes:      d("nodes", "Nodes in this node's link-state database.", nil),
		flows:      d("flows", "Track layers passing through this node.", nil),
		failures:   d("failures_total", "Trunks lost.", nil),
		keyframes:  d("keyframe_requests_total", "Key frame requests passed towards publishers.", nil),
		loops:      d("loops_refused_total", "Subscriptions refused because they would close a loop.", nil),
		sinkOut:    d("sink_drops_total", "Local RTP packets dropped before the trunk loop (it was behind).", nil),
		deliverOut: d("deliver_drops_total", "Trunk RTP packets dropped before the local SFU (a mirrored track's delivery was behind).", nil),

		bufRequested: d("socket_buffer_requested_bytes", "Socket buffer size the QRTP socket asked the kernel for (direction: read, write).", dir),
		bufGranted:   d("socket_buffer_granted_bytes", "Socket buffer size the kernel granted (below the request: raise net.core.rmem_max / wmem_max; 0: unknown on this system).", dir),
		sendErrors:   d("send_errors_total", "Datagrams the QRTP socket refused to send.", nil),
	}
}

type collector struct {
	t *Trunk
	d descs
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	d := c.d
	for _, x := range []*prometheus.Desc{d.up, d.rtt, d.minRTT, d.loss, d.bw, d.pacing, d.sent, d.recv, d.fec,
		d.retx, d.mediaOut, d.mediaIn, d.drops, d.tlDrops, d.expired, d.flowsOut, d.flowsIn, d.connects,
		d.nodes, d.flows, d.failures, d.keyframes, d.loops, d.sinkOut, d.deliverOut,
		d.bufRequested, d.bufGranted, d.sendErrors} {
		ch <- x
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.t.Status()
	d := c.d
	g := func(desc *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, l...)
	}
	n := func(desc *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), l...)
	}
	for _, tk := range st.Trunks {
		up := 0.0
		if tk.Up {
			up = 1
		}
		g(d.up, up, tk.Peer)
		g(d.rtt, tk.RTTMs/1000, tk.Peer)
		g(d.minRTT, tk.MinRTTMs/1000, tk.Peer)
		g(d.loss, tk.Loss, tk.Peer)
		g(d.bw, tk.Bandwidth, tk.Peer)
		g(d.pacing, tk.Pacing, tk.Peer)
		g(d.flowsOut, float64(tk.FlowsOut), tk.Peer)
		g(d.flowsIn, float64(tk.FlowsIn), tk.Peer)
		n(d.sent, tk.BytesSent, tk.Peer)
		n(d.recv, tk.BytesReceived, tk.Peer)
		n(d.fec, tk.FECBytes, tk.Peer)
		n(d.retx, tk.RetransmittedBytes, tk.Peer)
		n(d.mediaOut, tk.MediaBytesSent, tk.Peer)
		n(d.mediaIn, tk.MediaBytesReceived, tk.Peer)
		n(d.drops, tk.MediaDrops, tk.Peer)
		n(d.tlDrops, tk.TemporalDrops, tk.Peer)
		n(d.expired, tk.MessagesExpired, tk.Peer)
		n(d.connects, tk.Connects, tk.Peer)
	}
	g(d.nodes, float64(len(st.Nodes)))
	g(d.flows, float64(len(st.Flows)))
	n(d.failures, st.TrunkFailures)
	n(d.keyframes, st.Keyframes)
	n(d.loops, st.LoopsRefused)
	n(d.sinkOut, st.SinkDrops)
	n(d.deliverOut, st.DeliverDrops)
	g(d.bufRequested, float64(st.Socket.ReadRequested), "read")
	g(d.bufRequested, float64(st.Socket.WriteRequested), "write")
	g(d.bufGranted, float64(st.Socket.ReadGranted), "read")
	g(d.bufGranted, float64(st.Socket.WriteGranted), "write")
	n(d.sendErrors, st.SendErrors)
}
