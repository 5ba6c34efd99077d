package signaling

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/sfu"
)

// sinkRec records what a QualitySink is told.
type sinkRec struct {
	mu      sync.Mutex
	started []SessionInfo
	ended   []SessionInfo
	reports []*qoe.ClientReport
	events  []sfu.Event
}

func (s *sinkRec) SessionStarted(i SessionInfo) {
	s.mu.Lock()
	s.started = append(s.started, i)
	s.mu.Unlock()
}
func (s *sinkRec) SessionResumed(SessionInfo) {}
func (s *sinkRec) SessionEnded(i SessionInfo, _ error) {
	s.mu.Lock()
	s.ended = append(s.ended, i)
	s.mu.Unlock()
}
func (s *sinkRec) SessionEvent(_ SessionInfo, ev sfu.Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
}
func (s *sinkRec) SessionReport(_ SessionInfo, r *qoe.ClientReport) {
	s.mu.Lock()
	s.reports = append(s.reports, r)
	s.mu.Unlock()
}

func (s *sinkRec) count() (started, ended, reports int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.started), len(s.ended), len(s.reports)
}

const goodQuality = `{"type":"quality","report":{"seq":1,"recv":[{"participant":"ann","track":"T1","kind":"video","frames_decoded":10,
 "series":{"age_ms":[500,250,0],"v":[1,5,10]}}],"send":[]}}`

// TestQualityReports: good reports reach the sink with their session;
// malformed, out-of-range and oversized ones get bad_report and keep the
// connection (until the bad-message limit); reports faster than the limit
// get report_rate_limited and are dropped.
func TestQualityReports(t *testing.T) {
	e := newEnv(t, Config{}, sfu.Config{})
	sink := &sinkRec{}
	e.srv.SetQuality(sink)
	c := e.dial()
	c.join(e.token(host("r", "bob"), time.Hour))
	waitSink(t, "the session's start", func() bool { st, _, _ := sink.count(); return st == 1 })
	if i := sink.started[0]; i.Participant != "bob" || i.Room != "r" || i.ID == "" {
		t.Fatalf("started: %+v", i)
	}
	c.sendRaw(goodQuality)

	for name, msg := range map[string]string{
		"not an object":     `{"type":"quality","report":[1,2]}`,
		"missing":           `{"type":"quality"}`,
		"negative counter":  `{"type":"quality","report":{"seq":1,"recv":[{"participant":"a","track":"t","kind":"video","frames_decoded":-4}]}}`,
		"NaN-ish string":    `{"type":"quality","report":{"seq":"x"}}`,
		"series unordered":  `{"type":"quality","report":{"seq":1,"recv":[{"participant":"a","track":"t","kind":"video","series":{"age_ms":[0,9],"v":[1,2]}}]}}`,
		"oversized (40 kB)": `{"type":"quality","report":{"seq":1,"pad":"` + strings.Repeat("x", 40<<10) + `"}}`,
	} {
		c.sendRaw(msg)
		m := c.expect("error")
		if m["code"] != CodeBadReport {
			t.Fatalf("%s: got %v, want %s", name, m, CodeBadReport)
		}
	}
	// Still connected: the first good report arrived, a second one right
	// away is within the burst.
	c.sendRaw(goodQuality)
	waitSink(t, "2 reports", func() bool { _, _, n := sink.count(); return n == 2 })
	if r := sink.reports[0]; r.Seq != 1 || len(r.Recv) != 1 || r.Recv[0].FramesDecoded != 10 {
		t.Fatalf("report %+v", r)
	}

	// Flooding: beyond the burst, reports are refused and dropped. A bad
	// report after the flood marks its end.
	for range 6 {
		c.sendRaw(goodQuality)
	}
	c.sendRaw(`{"type":"quality","report":{"seq":0}}`)
	limited := 0
	for {
		m := c.expect("error")
		if m["code"] == CodeBadReport {
			break
		}
		if m["code"] != CodeReportRateLimited {
			t.Fatalf("flood: %v", m)
		}
		limited++
	}
	_, _, n := sink.count()
	if limited < 3 || n+limited != 8 || n > 2+reportBurst {
		t.Fatalf("flood: %d limited, %d reached the sink", limited, n)
	}
	// Bad reports count towards the bad-message limit (10): three more
	// close the connection.
	for range 3 {
		c.sendRaw(`{"type":"quality","report":{"seq":0}}`)
	}
	for range 3 {
		c.expectError(CodeBadReport)
	}
	c.expectClosed()
	waitSink(t, "the session's end", func() bool { _, n, _ := sink.count(); return n == 1 })
}

func waitSink(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
