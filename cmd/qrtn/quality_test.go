package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/store"
)

// TestQualityReportFromStore: `qrtn quality report --db` prints a room's
// calls and each stall with its cause, as text and as the API's JSON.
func TestQualityReportFromStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Minute).UnixMilli()
	recs := []qoe.Record{
		qoe.Call{Session: "a", Room: "r", Participant: "ann", Name: "Ann", Node: "eu-1", Region: "eu", JoinedAt: t0, JoinMs: 700},
		qoe.Call{Session: "b", Room: "r", Participant: "bob", Name: "Bob", Node: "us-1", Region: "us", JoinedAt: t0, JoinMs: 900},
		qoe.Route{Node: "us-1", Room: "r", Origin: "eu-1", Track: "T", At: t0, Path: []string{"eu-1", "fwd-1", "us-1"}},
		qoe.Stall{Session: "b", Room: "r", Participant: "bob", Publisher: "ann", Track: "T", Kind: "video", Node: "us-1", At: t0 + 20_000, DurationMs: 900},
		qoe.HopSample{From: "fwd-1", To: "us-1", Start: t0 + 18_000, End: t0 + 20_000, Up: true, Loss: 0.4, Expired: 12},
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var out, errb bytes.Buffer
	if err := runQuality(ctx, []string{"report", "--db", path, "--room", "r"}, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	for _, want := range []string{"room r: 2 calls", "Bob (bob)", "trunk fwd-1→us-1", "12 media messages expired", "900 ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runQuality(ctx, []string{"report", "--db", path, "--room", "r", "--participant", "bob", "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Calls []struct {
			Participant string
			Stalls      []struct{ Cause qoe.Cause }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &body); err != nil || len(body.Calls) != 1 || body.Calls[0].Stalls[0].Cause.Hop != "fwd-1→us-1" {
		t.Fatalf("json %s: %v", out.String(), err)
	}
	out.Reset()
	if err := runQuality(ctx, []string{"stats", "--db", path}, &out, &errb); err != nil || !regexp.MustCompile(`(?m)^stalls +1$`).MatchString(out.String()) {
		t.Errorf("stats: %v\n%s", err, out.String())
	}
	if err := runQuality(ctx, []string{"report"}, &out, &errb); err == nil {
		t.Fatal("no --room accepted")
	}
}
