package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/loadtest"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qoe/report"
	"github.com/qrtn/qrtn/sfu"
)

func startQualityNode(t *testing.T, q node.QualityConfig, dataDir string) *node.Node {
	t.Helper()
	q.SampleEvery, q.SubscriptionEvery = 250*time.Millisecond, 500*time.Millisecond
	n, err := node.New(node.Config{Dev: true, DataDir: dataDir, Quality: q,
		SFU: sfu.Config{UDPAddr: "127.0.0.1:0", Tick: 50 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

func metric(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// runLoad runs synthetic clients that report quality every second.
func runLoad(t *testing.T, ctx context.Context, url, room string, subs int, d time.Duration) *loadtest.Report {
	t.Helper()
	cfg := loadtest.DefaultConfig()
	cfg.URL, cfg.Room, cfg.Subscribers = strings.TrimSuffix(url, "/"), room, subs
	cfg.Warmup, cfg.Duration, cfg.Interval, cfg.QualityEvery = time.Second, d, 0, time.Second
	cfg.NoTWCC = true // the plumbing, not GCC on a starved machine, is under test
	rep, err := loadtest.Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.JoinFailed != 0 {
		t.Fatalf("join failures: %v", rep.JoinErrors)
	}
	return rep
}

// TestQualityRecordsCalls: synthetic clients report like browsers; the
// node records their calls, samples and join times in its SQLite store,
// answers GET /api/quality/calls (the contract) and a call's timeline,
// and exports the SLA metrics.
func TestQualityRecordsCalls(t *testing.T) {
	n := startQualityNode(t, node.QualityConfig{}, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runLoad(t, ctx, n.URL(), "qroom", 2, 3*time.Second)

	var calls struct{ Calls []report.Call }
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code := getJSON(t, n.URL()+"api/quality/calls?room=qroom", &calls); code != 200 {
			t.Fatalf("calls: status %d", code)
		}
		joined := 0
		for _, c := range calls.Calls {
			if c.JoinMs > 0 && c.LeftAt > 0 {
				joined++
			}
		}
		if len(calls.Calls) == 3 && joined == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls %+v", calls.Calls)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var sub report.Call
	for _, c := range calls.Calls {
		if c.Node != "dev" || c.Compliance < 0 || c.Compliance > 1 || c.Stalls == nil {
			t.Errorf("call %+v", c)
		}
		if strings.HasPrefix(c.Participant, "sub-") {
			sub = c
		}
	}
	var tl report.Timeline
	if code := getJSON(t, n.URL()+"api/quality/call?session="+sub.Session, &tl); code != 200 {
		t.Fatalf("timeline: status %d", code)
	}
	video := 0
	for _, s := range tl.Samples {
		if s.Kind == "video" && s.Frames > 0 && s.E2EMs > 0 && !s.E2EEstimate {
			video++
		}
	}
	if video == 0 || len(tl.Down) == 0 || len(tl.Events) == 0 {
		t.Fatalf("timeline: %d video samples with frames and measured latency, %d node samples, %d events", video, len(tl.Down), len(tl.Events))
	}
	if code := getJSON(t, n.URL()+"api/quality/call?session=nope", &map[string]any{}); code != 404 {
		t.Fatalf("unknown session: status %d", code)
	}
	if code := getJSON(t, n.URL()+"api/quality/calls?room=qroom&from=yesterday", &map[string]any{}); code != 400 {
		t.Fatalf("bad window: status %d", code)
	}
	for _, name := range []string{"qrtn_quality_reports_total", "qrtn_quality_join_seconds_count", "qrtn_quality_e2e_latency_seconds_count", "qrtn_quality_records_written_total"} {
		m := metric(t, n.URL(), name)
		if m == "" || strings.HasSuffix(m, " 0") {
			t.Errorf("metric %s: %q", name, m)
		}
	}
	if !strings.Contains(metric(t, n.URL(), "qrtn_quality_e2e_latency_seconds_count"), `estimated="false"`) {
		t.Error("loadtest latency not measured")
	}
}
