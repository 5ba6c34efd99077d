package loadtest

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// TrackReport is one received track over the measurement window.
type TrackReport struct {
	Participant  string  `json:"participant"`
	Track        string  `json:"track"`
	Kind         string  `json:"kind"`
	Layer        string  `json:"layer"` // the node's last layer message for it
	Kbps         float64 `json:"kbps"`
	Loss         float64 `json:"loss"`     // never received / sent, after repair
	RawLoss      float64 `json:"raw_loss"` // not received in order on the first try
	Frames       uint64  `json:"frames"`
	MissedFrames uint64  `json:"missed_frames"`
	LatencyP50   float64 `json:"latency_p50_ms"`
	LatencyP95   float64 `json:"latency_p95_ms"`
	LatencyP99   float64 `json:"latency_p99_ms"`
	Stalls       int     `json:"stalls"`
	StallMs      float64 `json:"stall_ms"`
}

// ClientReport is one synthetic participant.
type ClientReport struct {
	Identity     string        `json:"identity"`
	Participant  string        `json:"participant"`
	Publisher    bool          `json:"publisher"`
	JoinMs       float64       `json:"join_ms"`        // websocket dial → joined
	FirstFrameMs float64       `json:"first_frame_ms"` // websocket dial → first complete video frame; -1: none
	Error        string        `json:"error,omitempty"`
	Tracks       []TrackReport `json:"tracks"`
	// Reconnects are the client's recoveries (recover.go), each with the
	// longest media gap it saw around it; Gaps every interval of at least
	// reportGap without media from a participant, over the whole run.
	Reconnects []Reconnect `json:"reconnects,omitempty"`
	Gaps       []Gap       `json:"gaps,omitempty"`
}

// Report is the result of a run. Rates, loss, latency and stalls cover the
// measurement window; join times cover the whole run. Loss fractions are
// 0..1; CPU is in cores (1.0 = one core busy), -1 when unknown.
type Report struct {
	URL          string   `json:"url"`
	Room         string   `json:"room"`
	Prefer       string   `json:"prefer"`
	Publishers   int      `json:"publishers"`
	Subscribers  int      `json:"subscribers"`
	JoinFailed   int      `json:"join_failed"`
	JoinErrors   []string `json:"join_errors,omitempty"`
	WindowS      float64  `json:"window_s"`
	VideoTracks  int      `json:"video_down_tracks"` // received tracks with packets in the window
	AudioTracks  int      `json:"audio_down_tracks"`
	VideoKbps    float64  `json:"video_kbps_per_track"`
	VideoKbpsMin float64  `json:"video_kbps_min"`
	VideoLoss    float64  `json:"video_loss"`
	VideoRawLoss float64  `json:"video_raw_loss"`
	AudioLoss    float64  `json:"audio_loss"`
	LatencyP50   float64  `json:"latency_p50_ms"`
	LatencyP95   float64  `json:"latency_p95_ms"`
	LatencyP99   float64  `json:"latency_p99_ms"`
	AudioP95     float64  `json:"audio_latency_p95_ms"`
	Frames       uint64   `json:"frames"`
	MissedFrames uint64   `json:"missed_frames"`
	Stalls       int      `json:"stalls_600ms"`
	Stalled      int      `json:"tracks_stalled"`
	AudioStalls  int      `json:"audio_stalls_200ms"`
	JoinP50      float64  `json:"join_p50_ms"`
	JoinP95      float64  `json:"join_p95_ms"`
	FirstP50     float64  `json:"first_frame_p50_ms"`
	FirstP95     float64  `json:"first_frame_p95_ms"`
	NoFirstFrame int      `json:"no_first_frame"`
	Packets      uint64   `json:"packets_received"`
	PacketRate   float64  `json:"packets_per_s"`
	NodeCPU      float64  `json:"node_cpu_cores"`
	NodeUsPerPkt float64  `json:"node_cpu_us_per_packet"`
	// From the node's /metrics over the window (0 when unreadable): the
	// packets it sent, retransmissions included, and the retransmissions
	// alone; NodeUsPerFwd is its CPU per packet sent. It differs from
	// NodeUsPerPkt when packets are lost after the node, mostly in this
	// process's sockets when it cannot keep up.
	NodeForwarded   uint64  `json:"node_forwarded_packets"`
	NodeRetransmits uint64  `json:"node_retransmits"`
	NodeUsPerFwd    float64 `json:"node_cpu_us_per_forwarded"`
	NodeWait        float64 `json:"node_runqueue_wait"` // node threads' time runnable but not running, per second: high means starved by other processes
	SelfCPU         float64 `json:"loadtest_cpu_cores"`
	// Datagrams the kernel dropped in the window for want of socket buffer
	// space: at the node's sockets (-1: no --node-pid) and at the
	// synthetic clients' (-1: unreadable). Loss not found here was not sent.
	NodeUDPDrops int64 `json:"node_udp_drops"`
	SelfUDPDrops int64 `json:"loadtest_udp_drops"`
	// VideoLayers counts the video down-tracks by the layer the node last
	// said they receive ("large", "small", "paused"; "-" when it said none).
	VideoLayers map[string]int `json:"video_layers"`

	Clients []ClientReport `json:"clients"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ratio(num, den uint64) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// lossFrac is the fraction of expected packets not received. Over a window
// it can be computed from more arrivals than new sequence numbers (repairs
// of packets lost before the window began), which is no loss, not negative.
func lossFrac(expected, received uint64) float64 {
	if expected == 0 || received >= expected {
		return 0
	}
	return float64(expected-received) / float64(expected)
}

// report builds the final report at now.
func (r *runner) report(now time.Time) *Report {
	nd, sd := r.drops()
	nc := r.nodeCounters()
	r.mu.Lock()
	ws := r.windowStart
	nd0, sd0 := r.nodeDrops0, r.selfDrops0
	nc0 := r.nodeCounters0
	rep := &Report{URL: r.cfg.URL, Room: r.cfg.Room, Prefer: r.cfg.Prefer, Publishers: r.publishers,
		Subscribers: len(r.clients) - r.publishers, JoinFailed: r.joinFailed, JoinErrors: r.joinErrs}
	r.mu.Unlock()
	if ws.IsZero() {
		ws = r.start
	}
	rep.NodeUDPDrops, rep.SelfUDPDrops = -1, -1
	if nd >= 0 && nd0 >= 0 {
		rep.NodeUDPDrops = nd - nd0
	}
	if sd >= 0 && sd0 >= 0 {
		rep.SelfUDPDrops = sd - sd0
	}
	window := now.Sub(ws)
	rep.WindowS = window.Seconds()
	var vlat, alat histogram
	var vsent, vlost, vuniq, vlate, vexp, asent, alost uint64
	var joins, firsts []float64
	for _, c := range r.snapshotClients() {
		cr := c.report(now, window, &vlat, &alat)
		for _, t := range c.trackList() {
			t.mu.Lock()
			d := t.r.counters().sub(t.r.win)
			lost, sent := t.r.windowLoss()
			t.mu.Unlock()
			if d.expected == 0 && sent == 0 {
				continue
			}
			rep.Packets += d.unique
			if t.kind == "video" {
				vsent, vlost = vsent+sent, vlost+lost
				vexp, vuniq, vlate = vexp+d.expected, vuniq+d.unique, vlate+d.late
			} else {
				asent, alost = asent+sent, alost+lost
			}
		}
		for _, t := range cr.Tracks {
			if t.Kind == "video" {
				if rep.VideoLayers == nil {
					rep.VideoLayers = map[string]int{}
				}
				rep.VideoLayers[nonEmpty(t.Layer)]++
				rep.VideoTracks++
				rep.VideoKbps += t.Kbps
				if rep.VideoKbpsMin == 0 || t.Kbps < rep.VideoKbpsMin {
					rep.VideoKbpsMin = t.Kbps
				}
				rep.Frames += t.Frames
				rep.MissedFrames += t.MissedFrames
				rep.Stalls += t.Stalls
				if t.Stalls > 0 {
					rep.Stalled++
				}
			} else {
				rep.AudioTracks++
				rep.AudioStalls += t.Stalls
			}
		}
		if cr.JoinMs > 0 {
			joins = append(joins, cr.JoinMs)
		}
		if !cr.Publisher || len(cr.Tracks) > 0 {
			if cr.FirstFrameMs >= 0 {
				firsts = append(firsts, cr.FirstFrameMs)
			} else {
				rep.NoFirstFrame++
			}
		}
		rep.Clients = append(rep.Clients, cr)
	}
	if rep.VideoTracks > 0 {
		rep.VideoKbps /= float64(rep.VideoTracks)
	}
	rep.VideoLoss = ratio(vlost, vsent)
	rep.VideoRawLoss = lossFrac(vexp, vuniq-vlate)
	rep.AudioLoss = ratio(alost, asent)
	rep.LatencyP50, rep.LatencyP95, rep.LatencyP99 = ms(vlat.quantile(.5)), ms(vlat.quantile(.95)), ms(vlat.quantile(.99))
	rep.AudioP95 = ms(alat.quantile(.95))
	rep.JoinP50, rep.JoinP95 = percentile(joins, .5), percentile(joins, .95)
	rep.FirstP50, rep.FirstP95 = percentile(firsts, .5), percentile(firsts, .95)
	if window > 0 {
		rep.PacketRate = float64(rep.Packets) / window.Seconds()
	}
	u := r.cpu.window(now)
	rep.NodeCPU, rep.SelfCPU, rep.NodeWait = u.node, u.self, u.nodeWait
	if u.node >= 0 && rep.Packets > 0 {
		rep.NodeUsPerPkt = float64(u.nodeTime.Microseconds()) / float64(rep.Packets)
	}
	if nc.ok && nc0.ok && nc.forwarded >= nc0.forwarded {
		rep.NodeForwarded = nc.forwarded - nc0.forwarded
		rep.NodeRetransmits = nc.retransmits - min(nc.retransmits, nc0.retransmits)
		if u.node >= 0 && rep.NodeForwarded > 0 {
			rep.NodeUsPerFwd = float64(u.nodeTime.Microseconds()) / float64(rep.NodeForwarded)
		}
	}
	return rep
}

// report is one client over the window; it merges its latencies into vlat/alat.
func (c *client) report(now time.Time, window time.Duration, vlat, alat *histogram) ClientReport {
	start, joined, id := c.joinTimes()
	cr := ClientReport{Identity: c.p.identity, Participant: id, Publisher: c.p.publish, FirstFrameMs: -1, Tracks: []TrackReport{}}
	if !joined.IsZero() {
		cr.JoinMs = ms(joined.Sub(start))
	}
	if err := c.firstError(); err != nil {
		cr.Error = err.Error()
	}
	var first time.Time
	for _, t := range c.trackList() {
		t.mu.Lock()
		r := t.r
		d := r.counters().sub(r.win)
		lost, sent := r.windowLoss()
		tr := TrackReport{Participant: t.participant, Track: t.track, Kind: t.kind,
			Frames: d.frames, MissedFrames: d.missed, Loss: ratio(lost, sent),
			RawLoss:    lossFrac(d.expected, d.unique-d.late),
			LatencyP50: ms(r.latency.quantile(.5)), LatencyP95: ms(r.latency.quantile(.95)), LatencyP99: ms(r.latency.quantile(.99)),
			Stalls: r.stalls, StallMs: ms(r.stallTime)}
		if s := r.ongoingStall(now); s > 0 {
			tr.Stalls++
			tr.StallMs += ms(s)
		}
		if window > 0 {
			tr.Kbps = float64(d.bytes*8) / window.Seconds() / 1000
		}
		if t.kind == "video" {
			vlat.merge(&r.latency)
			if !r.firstFrame.IsZero() && (first.IsZero() || r.firstFrame.Before(first)) {
				first = r.firstFrame
			}
		} else {
			alat.merge(&r.latency)
		}
		t.mu.Unlock()
		tr.Layer = c.layerOf(t.participant, t.track)
		cr.Tracks = append(cr.Tracks, tr)
	}
	if !first.IsZero() && !start.IsZero() {
		cr.FirstFrameMs = ms(first.Sub(start))
	}
	cr.Reconnects = c.reconnectGaps(now)
	if cr.Gaps = c.gaps.list(reportGap); len(cr.Gaps) > maxReportedGaps {
		cr.Gaps = cr.Gaps[len(cr.Gaps)-maxReportedGaps:]
	}
	return cr
}

// reportGap and maxReportedGaps: the gaps a client report lists (the
// longest a browser hides is about 200 ms of audio).
const (
	reportGap       = 200 * time.Millisecond
	maxReportedGaps = 50
)

// reconnectGaps is the client's recoveries, each with the longest gap any
// remote participant's media had between a second before it and two
// seconds after connectivity came back.
func (c *client) reconnectGaps(now time.Time) []Reconnect {
	recs := c.reconnects()
	for i, r := range recs {
		end := r.Done
		if end.IsZero() {
			end = now
		}
		end = minTime(end.Add(2*time.Second), now)
		for _, key := range c.mediaKeys() {
			recs[i].GapMs = max(recs[i].GapMs, ms(c.gaps.longest(key, r.At.Add(-time.Second), end)))
		}
	}
	return recs
}

// mediaKeys lists the gap meter keys of the remote media: each
// participant's video, else its audio.
func (c *client) mediaKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	kinds := map[string]string{}
	for _, t := range c.tracks {
		if t.kind == "video" || kinds[t.participant] == "" {
			kinds[t.participant] = t.kind
		}
	}
	keys := make([]string, 0, len(kinds))
	for p, k := range kinds {
		keys = append(keys, p+"/"+k)
	}
	sort.Strings(keys)
	return keys
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(q*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// progressLoop prints one line per interval until the returned stop is
// called (stop is idempotent and waits for the loop to end).
func (r *runner) progressLoop(ctx interface{ Done() <-chan struct{} }) (stop func()) {
	if r.cfg.Interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(r.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				r.progress(now)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-ended
	}
}

func (r *runner) progress(now time.Time) {
	var lat histogram
	var sent, uniq, bytes uint64
	var tracks, joined, stalls int
	clients := r.snapshotClients()
	for _, c := range clients {
		if _, at, _ := c.joinTimes(); !at.IsZero() {
			joined++
		}
		for _, t := range c.trackList() {
			t.mu.Lock()
			d, h := t.r.interval()
			if t.kind == "video" {
				stalls += t.r.stalls
				if t.r.ongoingStall(now) > 0 {
					stalls++
				}
			}
			t.mu.Unlock()
			if t.kind != "video" || d.expected == 0 {
				continue
			}
			tracks++
			sent, uniq, bytes = sent+d.expected, uniq+d.unique, bytes+d.bytes
			lat.merge(&h)
		}
	}
	u := r.cpu.interval(now)
	kbps := 0.0
	if tracks > 0 {
		kbps = float64(bytes*8) / r.cfg.Interval.Seconds() / 1000 / float64(tracks)
	}
	node := "?"
	if u.node >= 0 {
		node = fmt.Sprintf("%.0f%% (waited %.0f%%)", u.node*100, u.nodeWait*100)
	}
	fmt.Fprintf(r.out, "[%5.1fs] joined %d/%d  video tracks %d  %.0f kbit/s/track  loss %.2f%%  latency p50 %.1f p95 %.1f ms  stalls %d  cpu node %s loadtest %.0f%%\n",
		now.Sub(r.start).Seconds(), joined, len(clients), tracks, kbps, 100*lossFrac(sent, uniq),
		ms(lat.quantile(.5)), ms(lat.quantile(.95)), stalls, node, u.self*100)
}

// WriteText writes the report for people: the summary, then one line per
// client when there are at most maxClients.
func (rep *Report) WriteText(w io.Writer, maxClients int) {
	fmt.Fprintf(w, "loadtest %s room %s: %d publishers, %d subscribers (%d failed to join), prefer %q, window %.1fs\n",
		rep.URL, rep.Room, rep.Publishers, rep.Subscribers, rep.JoinFailed, nonEmpty(rep.Prefer), rep.WindowS)
	for _, e := range rep.JoinErrors {
		fmt.Fprintf(w, "  join error: %s\n", e)
	}
	fmt.Fprintf(w, "  down-tracks: %d video, %d audio; %.0f packets/s received\n", rep.VideoTracks, rep.AudioTracks, rep.PacketRate)
	fmt.Fprintf(w, "  video: %.0f kbit/s per track (min %.0f), loss %.3f%% (raw %.3f%%), frames %d, missed %d\n",
		rep.VideoKbps, rep.VideoKbpsMin, 100*rep.VideoLoss, 100*rep.VideoRawLoss, rep.Frames, rep.MissedFrames)
	fmt.Fprintf(w, "  frame latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms; audio p95 %.1f ms, audio loss %.3f%%\n",
		rep.LatencyP50, rep.LatencyP95, rep.LatencyP99, rep.AudioP95, 100*rep.AudioLoss)
	fmt.Fprintf(w, "  stalls: %d video (600 ms) on %d tracks, %d audio (200 ms)\n", rep.Stalls, rep.Stalled, rep.AudioStalls)
	if len(rep.VideoLayers) > 0 {
		names := make([]string, 0, len(rep.VideoLayers))
		for n := range rep.VideoLayers {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "  video layers at the end:")
		for _, n := range names {
			fmt.Fprintf(w, " %s %d", n, rep.VideoLayers[n])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  join: p50 %.0f ms, p95 %.0f ms; first frame: p50 %.0f ms, p95 %.0f ms (%d without)\n",
		rep.JoinP50, rep.JoinP95, rep.FirstP50, rep.FirstP95, rep.NoFirstFrame)
	fmt.Fprintf(w, "  kernel UDP receive drops in the window: node %d, loadtest %d (-1: unknown)\n", rep.NodeUDPDrops, rep.SelfUDPDrops)
	if rep.NodeCPU >= 0 {
		fmt.Fprintf(w, "  cpu: node %.2f cores (run-queue wait %.2f), %.2f µs per received packet; loadtest %.2f cores\n", rep.NodeCPU, rep.NodeWait, rep.NodeUsPerPkt, rep.SelfCPU)
		if rep.NodeForwarded > 0 {
			fmt.Fprintf(w, "  node sent %d packets (%d retransmissions): %.2f µs per packet sent\n", rep.NodeForwarded, rep.NodeRetransmits, rep.NodeUsPerFwd)
		}
	} else {
		fmt.Fprintf(w, "  cpu: loadtest %.2f cores (node unknown: pass --node-pid)\n", rep.SelfCPU)
	}
	if len(rep.Clients) > maxClients {
		return
	}
	for _, c := range rep.Clients {
		for _, t := range c.Tracks {
			fmt.Fprintf(w, "  %-8s ← %s %-5s %-5s %7.0f kbit/s loss %.2f%% lat p50/p95/p99 %.1f/%.1f/%.1f ms stalls %d first %.0f ms\n",
				c.Identity, t.Participant, t.Kind, nonEmpty(t.Layer), t.Kbps, 100*t.Loss, t.LatencyP50, t.LatencyP95, t.LatencyP99, t.Stalls, c.FirstFrameMs)
		}
		if c.Error != "" {
			fmt.Fprintf(w, "  %-8s error: %s\n", c.Identity, c.Error)
		}
	}
}

func nonEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
