package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp/bench"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// Report is what a run measured, after its warm-up. Latencies are of video
// frames unless named otherwise: from the publisher's send to the frame's
// last packet at the viewers' node (end to end) or from one node to the
// next (per hop). JSON names are the `qrtn sim --json` contract.
type Report struct {
	Scenario   string  `json:"scenario"`
	Seed       uint64  `json:"seed"`
	Nodes      int     `json:"nodes"`
	Rooms      int     `json:"rooms"`
	Users      int     `json:"users"`
	Viewers    int     `json:"viewers"`
	SimSeconds float64 `json:"sim_seconds"`

	FramesSent      uint64  `json:"frames_sent"`
	FramesDelivered uint64  `json:"frames_delivered"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"`
	LatencyP95Ms    float64 `json:"latency_p95_ms"`
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	AudioP95Ms      float64 `json:"audio_latency_p95_ms"`
	HopP50Ms        float64 `json:"hop_latency_p50_ms"`
	HopP95Ms        float64 `json:"hop_latency_p95_ms"`
	JoinP50Ms       float64 `json:"first_frame_p50_ms"`
	JoinP95Ms       float64 `json:"first_frame_p95_ms"`
	Stalls600       int     `json:"stalls_600ms"`
	AudioStalls200  int     `json:"audio_stalls_200ms"`

	Failures int `json:"failures"`
	// Reroutes counts the layers a failure interrupted at a viewers'
	// node; RerouteP50Ms and P95 are the media gaps they saw.
	Reroutes     int     `json:"reroutes"`
	RerouteP50Ms float64 `json:"reroute_gap_p50_ms"`
	RerouteP95Ms float64 `json:"reroute_gap_p95_ms"`
	NotRecovered int     `json:"not_recovered"`
	RouteChanges uint64  `json:"route_changes"`

	TrunkKbpsPerViewer float64 `json:"trunk_kbit_s_per_viewer"`
	// TrunkCopies counts, at the end, the track layers sent over trunks,
	// one per layer and trunk direction: with one copy per trunk link a
	// live room's count follows its distribution tree, not its viewers.
	TrunkCopies  int     `json:"trunk_copies"`
	FECOverhead  float64 `json:"fec_overhead"`
	RetxOverhead float64 `json:"retransmit_overhead"`

	ControlMsgsPerNodeSec  float64            `json:"control_msgs_per_node_s"`
	ControlBytesPerNodeSec float64            `json:"control_bytes_per_node_s"`
	ControlByKind          map[string]float64 `json:"control_msgs_per_node_s_by_kind"`

	// ByRegionPair is the p95 end-to-end latency by "from→to" region.
	ByRegionPair map[string]float64 `json:"latency_p95_ms_by_region_pair"`
	JoinErrors   int                `json:"join_errors,omitempty"`
	// Placement says where the placer put users given by region (nil
	// when the scenario places none that way).
	Placement *PlacementStats `json:"placement,omitempty"`
	Errors    []string        `json:"errors,omitempty"`

	series []SecondStats
	engine netsim.Stats
	e2e    netsim.DelayHistogram
	hop    netsim.DelayHistogram
}

// Engine is what the simulator did for the whole run (events, datagrams,
// polls): the cost of a run, apart from what it measured.
func (r *Report) Engine() netsim.Stats { return r.engine }

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func (r *runner) report(seed uint64) *Report {
	m, n := r.n.M, r.n
	secs := (r.s.Duration - r.s.Warmup).Seconds()
	rep := &Report{Scenario: r.s.Name, Seed: seed, Nodes: len(n.order), Rooms: len(r.rooms), SimSeconds: secs,
		FramesSent: m.FramesExpected, FramesDelivered: m.FramesDelivered,
		LatencyP50Ms: ms(m.E2E.Quantile(0.5)), LatencyP95Ms: ms(m.E2E.Quantile(0.95)), LatencyP99Ms: ms(m.E2E.Quantile(0.99)),
		AudioP95Ms: ms(m.E2EAudio.Quantile(0.95)), HopP50Ms: ms(m.Hop.Quantile(0.5)), HopP95Ms: ms(m.Hop.Quantile(0.95)),
		JoinP50Ms: ms(m.Join.Quantile(0.5)), JoinP95Ms: ms(m.Join.Quantile(0.95)),
		Stalls600: m.Stalls600, AudioStalls200: m.AudioStalls200, Failures: m.Failures, Reroutes: len(m.Reroutes),
		NotRecovered: m.NotRecovered, JoinErrors: m.JoinErrors, Errors: r.errs,
		ControlByKind: map[string]float64{}, ByRegionPair: map[string]float64{},
		series: m.Series, engine: n.sim.Stats(), e2e: m.E2E.Clone(), hop: m.Hop.Clone()}
	if len(m.Reroutes) > 0 {
		d := slices.Clone(m.Reroutes)
		slices.Sort(d)
		rep.RerouteP50Ms, rep.RerouteP95Ms = ms(d[len(d)/2]), ms(d[min(len(d)-1, len(d)*95/100)])
	}
	for k, h := range m.ByPair {
		rep.ByRegionPair[k[0]+"→"+k[1]] = ms(h.Quantile(0.95))
	}
	for _, nd := range n.order {
		if nd.up && nd.local != nil {
			rep.Users += nd.local.nusers
			rep.Viewers += nd.local.viewers()
		}
	}
	var bytes, fec, retx, media, ctrlMsgs, ctrlBytes uint64
	kinds := map[string]uint64{}
	for _, nd := range n.order {
		c, b := nd.Counters(), r.base[nd.Spec.Name]
		bytes += c.BytesSent - b.BytesSent
		if nd.up {
			rep.TrunkCopies += c.Downstreams
		}
		fec += c.FECBytes - b.FECBytes
		retx += c.RetransmittedBytes - b.RetransmittedBytes
		media += c.MediaBytesSent - b.MediaBytesSent
		rep.RouteChanges += c.Switches - b.Switches
		for k, v := range c.Control {
			d := v.Msgs - b.Control[k].Msgs
			kinds[k] += d
			ctrlMsgs += d
			ctrlBytes += v.Bytes - b.Control[k].Bytes
		}
	}
	per := float64(len(n.order)) * secs
	if per > 0 {
		rep.ControlMsgsPerNodeSec = round2(float64(ctrlMsgs) / per)
		rep.ControlBytesPerNodeSec = round2(float64(ctrlBytes) / per)
		for k, v := range kinds {
			rep.ControlByKind[k] = round2(float64(v) / per)
		}
	}
	if rep.Viewers > 0 && secs > 0 {
		rep.TrunkKbpsPerViewer = round2(float64(bytes) * 8 / 1e3 / secs / float64(rep.Viewers))
	}
	if st := r.placed.stats(); st.Placed > 0 {
		rep.Placement = st
	}
	if media > 0 {
		rep.FECOverhead, rep.RetxOverhead = round3(float64(fec)/float64(media)), round3(float64(retx)/float64(media))
	}
	return rep
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// JSON is the report as one line of JSON (map keys sorted, so the same
// run prints the same line).
func (rep *Report) JSON() ([]byte, error) { return json.Marshal(rep) }

// Markdown writes the report; plots are referenced as prefix-NAME.svg.
func (rep *Report) Markdown(w io.Writer, prefix, command string) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# qrtn sim: %s\n\n", rep.Scenario)
	if command != "" {
		p("Regenerate with `%s` (seed %d; the same file and seed give the same figures).\n\n", command, rep.Seed)
	}
	p("%d nodes, %d rooms, %d users (%d viewers); %.0f s measured after the warm-up.\n\n",
		rep.Nodes, rep.Rooms, rep.Users, rep.Viewers, rep.SimSeconds)
	p("| measure | value |\n|---|---|\n")
	delivered := 0.0
	if rep.FramesSent > 0 {
		delivered = 100 * float64(rep.FramesDelivered) / float64(rep.FramesSent)
	}
	rows := [][2]string{
		{"video frames delivered / expected", fmt.Sprintf("%d / %d (%.2f %%)", rep.FramesDelivered, rep.FramesSent, delivered)},
		{"end-to-end video frame latency p50 / p95 / p99", fmt.Sprintf("%.1f / %.1f / %.1f ms", rep.LatencyP50Ms, rep.LatencyP95Ms, rep.LatencyP99Ms)},
		{"end-to-end audio latency p95", fmt.Sprintf("%.1f ms", rep.AudioP95Ms)},
		{"per-hop video frame latency p50 / p95", fmt.Sprintf("%.1f / %.1f ms", rep.HopP50Ms, rep.HopP95Ms)},
		{"first frame after watching, p50 / p95", orNA(rep.JoinP95Ms > 0, fmt.Sprintf("%.0f / %.0f ms", rep.JoinP50Ms, rep.JoinP95Ms))},
		{"video stalls (> 600 ms) / audio stalls (> 200 ms)", fmt.Sprintf("%d / %d", rep.Stalls600, rep.AudioStalls200)},
		{"failures / layers rerouted / not recovered", fmt.Sprintf("%d / %d / %d", rep.Failures, rep.Reroutes, rep.NotRecovered)},
		{"media gap of a layer a failure hit, p50 / p95", orNA(rep.Reroutes > 0, fmt.Sprintf("%.0f / %.0f ms", rep.RerouteP50Ms, rep.RerouteP95Ms))},
		{"route changes (flow upstream switches)", fmt.Sprint(rep.RouteChanges)},
		{"trunk bytes per viewer", fmt.Sprintf("%.1f kbit/s", rep.TrunkKbpsPerViewer)},
		{"track layers sent over trunks (copies, at the end)", fmt.Sprint(rep.TrunkCopies)},
		{"FEC / retransmission overhead (of media bytes)", fmt.Sprintf("%.3f / %.3f", rep.FECOverhead, rep.RetxOverhead)},
		{"control messages per node per second", fmt.Sprintf("%.2f (%.0f bytes/s)", rep.ControlMsgsPerNodeSec, rep.ControlBytesPerNodeSec)},
	}
	for _, r := range rows {
		p("| %s | %s |\n", r[0], r[1])
	}
	p("\nControl messages per node per second, by kind: %s.\n", kv(rep.ControlByKind))
	if len(rep.ByRegionPair) > 0 {
		p("\nEnd-to-end p95 by region pair (publisher → viewer): %s.\n", kv(rep.ByRegionPair))
	}
	if rep.Placement != nil {
		p("%s", rep.Placement.markdown())
	}
	if len(rep.Errors) > 0 || rep.JoinErrors > 0 {
		p("\nTimeline errors: %s; users not placed: %d.\n", strings.Join(rep.Errors, "; "), rep.JoinErrors)
	}
	if prefix != "" {
		b := filepath.Base(prefix)
		p("\n![frames and stalls per second](%s-frames.svg)\n![frame latency distribution](%s-latency.svg)\n![control traffic](%s-control.svg)\n",
			b, b, b)
	}
	return nil
}

// orNA is s, or "n/a" when nothing was measured.
func orNA(measured bool, s string) string {
	if !measured {
		return "n/a (none in the measured window)"
	}
	return s
}

func kv(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Charts are the report's plots.
func (rep *Report) Charts() map[string]*bench.Chart {
	frames := &bench.Chart{Title: "Video frames delivered and stalls, per second", XLabel: "time (s)", YLabel: "count"}
	ctrl := &bench.Chart{Title: "Control messages per node, per second", XLabel: "time (s)", YLabel: "messages"}
	var fr, st, cm []bench.Point
	for _, s := range rep.series {
		fr = append(fr, bench.Point{X: s.At, Y: float64(s.Frames)})
		st = append(st, bench.Point{X: s.At, Y: float64(s.Stalls)})
		cm = append(cm, bench.Point{X: s.At, Y: s.CtrlPerNo})
	}
	frames.Series = []bench.Series{{Name: "frames", Points: fr}, {Name: "stalls", Points: st}}
	ctrl.Series = []bench.Series{{Name: "per node", Points: cm}}
	lat := &bench.Chart{Title: "Video frame latency: quantiles", XLabel: "quantile (%)", YLabel: "ms"}
	var e2e, hop []bench.Point
	for q := 1; q <= 99; q++ {
		e2e = append(e2e, bench.Point{X: float64(q), Y: ms(rep.e2e.Quantile(float64(q) / 100))})
		hop = append(hop, bench.Point{X: float64(q), Y: ms(rep.hop.Quantile(float64(q) / 100))})
	}
	lat.Series = []bench.Series{{Name: "end to end", Points: e2e}, {Name: "per hop", Points: hop, Dashed: true}}
	return map[string]*bench.Chart{"frames": frames, "latency": lat, "control": ctrl}
}

// WriteFiles writes prefix.md and prefix-NAME.svg.
func (rep *Report) WriteFiles(prefix, command string) error {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return err
	}
	f, err := os.Create(prefix + ".md")
	if err != nil {
		return err
	}
	if err := rep.Markdown(f, prefix, command); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for name, c := range rep.Charts() {
		g, err := os.Create(prefix + "-" + name + ".svg")
		if err != nil {
			return err
		}
		if err := c.WriteSVG(g); err != nil {
			g.Close()
			return err
		}
		if err := g.Close(); err != nil {
			return err
		}
	}
	return nil
}
