package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// short is a scenario small enough for the test suite: 20 Mbit/s, 20 ms.
func short(kind Kind, cc string, loss float64, warmupMs, measureMs int) Scenario {
	return Scenario{Kind: kind, CC: cc, RTTms: 20, Loss: loss, Placement: PlacementBefore,
		RateMbit: 20, QueueBDP: 1, WarmupMs: warmupMs, MeasureMs: measureMs, Seed: 1}
}

func TestQBBRKeepsTheLinkAt30PercentLossWhereBBR1DoesNot(t *testing.T) {
	sc := []Scenario{short(KindBulk, "qbbr", 0.3, 1500, 2500), short(KindBulk, "bbr1", 0.3, 1500, 2500)}
	res := Run(context.Background(), sc, 2, nil)
	for _, r := range res {
		if r.Error != "" {
			t.Fatalf("%s: %s", r.Name(), r.Error)
		}
	}
	q, b := res[0], res[1]
	if q.Utilization <= 0.5 {
		t.Fatalf("qbbr utilization %.3f at 30%% loss, want more than half the link", q.Utilization)
	}
	if b.Utilization >= 0.5 {
		t.Fatalf("bbr1 utilization %.3f at 30%% loss: the baseline should have collapsed", b.Utilization)
	}
	if q.NoiseLoss < 0.2 || q.CongestedLoss > 0.05 {
		t.Fatalf("qbbr classified noise %.3f, congestion %.3f of 30%% random loss", q.NoiseLoss, q.CongestedLoss)
	}
}

func TestQBBRBacksOffWhenACompetingFlowFillsTheQueue(t *testing.T) {
	// The controller has a 50 Mbit/s link to itself for 1.5 s; then CUBIC,
	// which keeps the queue full, joins. qbbr must yield; bbr1, which
	// ignores the queue, is the control that it would not by itself.
	run := func(cc string) Result {
		s := short(KindVsCubic, cc, 0, 3000, 3000)
		s.RateMbit = 50
		s.Competitor, s.CompetitorStartMs = "cubic", 1500
		r := RunOne(&s)
		if r.Error != "" {
			t.Fatal(r.Error)
		}
		return r
	}
	q, b := run("qbbr"), run("bbr1")
	if got := q.Flows[0].Share; got > 0.6 {
		t.Fatalf("qbbr kept %.0f%% of the link with CUBIC filling the queue", 100*got)
	}
	if got := q.Flows[1].Share; got < 0.15 {
		t.Fatalf("CUBIC got only %.0f%% next to qbbr", 100*got)
	}
	if q.Utilization < 0.8 {
		t.Fatalf("link utilization %.3f", q.Utilization)
	}
	if got := b.Flows[0].Share; got < 0.8 {
		t.Fatalf("control: bbr1 took only %.0f%%; the scenario does not show a queue-blind flow", 100*got)
	}
}

func TestRunIsDeterministicAndOrderFree(t *testing.T) {
	sc := []Scenario{short(KindBulk, "qbbr", 0.05, 300, 300), short(KindBulk, "cubic", 0, 300, 300), short(KindMedia, "qbbr", 0.1, 200, 600)}
	a := Run(context.Background(), sc, 1, nil)
	var calls int
	b := Run(context.Background(), sc, 3, func(done, total int, _ *Result) {
		calls++
		if total != len(sc) || done < 1 || done > total {
			t.Errorf("progress %d/%d", done, total)
		}
	})
	if calls != len(sc) {
		t.Fatalf("progress called %d times", calls)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("results differ between a sequential and a parallel run:\n%s\n%s", ja, jb)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Run(ctx, []Scenario{short(KindBulk, "qbbr", 0, 100, 100)}, 1, nil)
	if res[0].Error == "" {
		t.Fatal("a cancelled run reported no error")
	}
}

func TestUnknownKind(t *testing.T) {
	r := RunOne(&Scenario{Kind: "nope"})
	if !strings.Contains(r.Error, "unknown scenario kind") {
		t.Fatalf("error %q", r.Error)
	}
}

func TestJain(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{[]float64{5, 5}, 1}, {[]float64{10, 0}, 0.5}, {[]float64{0, 0}, 0}, {[]float64{3, 1}, 0.8}} {
		if got := jain(tc.xs); got != tc.want {
			t.Errorf("jain(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestMediaFigures(t *testing.T) {
	t0 := time.Unix(0, 0)
	var sent []time.Time
	arrived := map[uint64]time.Time{}
	for i := 0; i < 100; i++ {
		at := t0.Add(time.Duration(i) * 40 * time.Millisecond)
		sent = append(sent, at)
		switch {
		case i >= 40 && i < 65: // 1 s of nothing: one stall
		case i%10 == 9:
			arrived[uint64(i)] = at.Add(500 * time.Millisecond) // late
		default:
			arrived[uint64(i)] = at.Add(100 * time.Millisecond)
		}
	}
	m, err := mediaFigures(sent, arrived, t0, t0.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if m.FramesSent != 100 || m.FramesDelivered != 75 {
		t.Fatalf("sent %d delivered %d", m.FramesSent, m.FramesDelivered)
	}
	if m.Within400 != 0.67 {
		t.Fatalf("within 400 ms %.2f, want 0.67", m.Within400)
	}
	if m.LatencyP50ms != 100 || m.LatencyP95ms != -1 {
		t.Fatalf("p50 %v p95 %v", m.LatencyP50ms, m.LatencyP95ms)
	}
	if m.Stalls600 != 1 {
		t.Fatalf("stalls %d, want 1", m.Stalls600)
	}
	if _, err := mediaFigures(sent, arrived, t0.Add(time.Hour), t0.Add(2*time.Hour)); err == nil {
		t.Fatal("no error for an empty window")
	}
}

func TestProbeRTTFigures(t *testing.T) {
	// 100 B/ms for 2 s, with a 100 ms ProbeRTT at 1 s that delivers half.
	t0 := time.Unix(0, 0)
	var s []probeSample
	var acked uint64
	for i := 0; i <= 2000; i++ {
		probed := i >= 1000 && i < 1100
		if probed {
			acked += 50
		} else {
			acked += 100
		}
		s = append(s, probeSample{at: t0.Add(time.Duration(i) * time.Millisecond), acked: acked, probed: probed})
	}
	p := probeRTTFigures(s, 10*time.Millisecond, 100e3, time.Millisecond)
	if p.Count != 1 || p.MeanDurationMs != 100 {
		t.Fatalf("%+v", p)
	}
	// 100 ms at half rate loses 50 ms of a link that the flow filled.
	if p.LostLinkMs < 49 || p.LostLinkMs > 51 {
		t.Fatalf("lost link time %.1f ms, want 50", p.LostLinkMs)
	}
	if p.MinThroughput < 0.49 || p.MinThroughput > 0.51 {
		t.Fatalf("min throughput %.2f, want 0.5", p.MinThroughput)
	}
}

func TestOptionsScenarios(t *testing.T) {
	q := QuickOptions().Scenarios()
	f := FullOptions().Scenarios()
	if len(q) == 0 || len(f) <= len(q) {
		t.Fatalf("quick %d, full %d scenarios", len(q), len(f))
	}
	seen := map[string]bool{}
	for _, s := range f {
		n := s.Name()
		if seen[n] {
			t.Fatalf("duplicate scenario %s", n)
		}
		seen[n] = true
		if s.MeasureMs <= 0 || s.RateMbit != 100 {
			t.Fatalf("%s: %+v", n, s)
		}
	}
	// Bulk: 3 controllers × (1 + 8×2 lossy) × 2 RTTs.
	n := 0
	for _, s := range f {
		if s.Kind == KindBulk {
			n++
		}
	}
	if n != 3*17*2 {
		t.Fatalf("%d bulk scenarios", n)
	}
}

func TestReportWritesMarkdownJSONAndSVG(t *testing.T) {
	r := &Report{Command: "go run ./cmd/qrtn bench --test", Results: []Result{
		{Scenario: Scenario{Kind: KindBulk, CC: "qbbr", RTTms: 20, Loss: 0, Placement: PlacementBefore}, Utilization: 0.96, QueueP50Ratio: 0.01},
		{Scenario: Scenario{Kind: KindBulk, CC: "qbbr", RTTms: 20, Loss: 0.5, Placement: PlacementBefore}, Utilization: 0.6},
		{Scenario: Scenario{Kind: KindBulk, CC: "qbbr", RTTms: 20, Loss: 0.5, Placement: PlacementAfter}, Utilization: 0.45},
		{Scenario: Scenario{Kind: KindFairness, CC: "qbbr", Competitor: "qbbr", CompetitorStartMs: 1, RTTms: 20}, Jain: 0.95,
			Flows: []FlowResult{{CC: "qbbr", GoodputMbit: 50, Share: 0.5}, {CC: "qbbr", GoodputMbit: 45, Share: 0.5}}},
	}}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md, map[int]string{20: "u.svg"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{r.Command, "| qbbr bulk, RTT 20 ms, loss before the bottleneck, 50% | ≥ 0.7 | 0.600 (worst, at 50%) | **no** |", "0.450", "Jain ≥ 0.9", "](u.svg)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != 4 {
		t.Fatalf("JSON round trip: %v", err)
	}
	var svg bytes.Buffer
	if err := r.UtilizationChart(20).WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg.Bytes(), "qbbr before", "qbbr after")
}

// checkSVG parses the document and looks for each legend entry.
func checkSVG(t *testing.T, b []byte, legends ...string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.CharData:
			texts = append(texts, string(v))
		case xml.StartElement:
			if v.Name.Local == "polyline" {
				lines++
			}
		}
	}
	all := strings.Join(texts, "|")
	for _, l := range legends {
		if !strings.Contains(all, l) {
			t.Errorf("SVG lacks legend %q", l)
		}
	}
	if lines != len(legends) {
		t.Errorf("%d lines, want %d", lines, len(legends))
	}
}

func TestChartEscapesText(t *testing.T) {
	c := &Chart{Title: `a < b & "c"`, Series: []Series{{Name: "<x>", Points: []Point{{0, 0}, {1, 1}}}}}
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, b.Bytes(), "<x>")
}
