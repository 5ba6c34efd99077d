package loadtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/qrtn/qrtn/loadtest"
)

// TestSurviveWebsocketCuts: both synthetic clients lose their websockets
// twice; each time they resume (the node held them), media comes back at
// once (it never stopped), and the report has each trial's gap.
func TestSurviveWebsocketCuts(t *testing.T) {
	base := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Survive(ctx, loadtest.SurviveConfig{
		URL: base, Room: "survive", Trials: 2, Settle: time.Second, Recover: 20 * time.Second,
		Disrupt: func(_ context.Context, _ int, s *loadtest.Survivors) error {
			s.CutWebsockets()
			return nil
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || len(rep.Trials) != 2 {
		t.Fatalf("%d trials, %d failed: %+v", len(rep.Trials), rep.Failed, rep.Trials)
	}
	for _, tr := range rep.Trials {
		resumes := 0
		for _, r := range tr.Reconnects {
			if r.Kind == "resume" && !r.Done.IsZero() {
				resumes++
			}
		}
		if resumes != 2 {
			t.Errorf("trial %d: %d resumes, want both clients': %+v", tr.Trial, resumes, tr.Reconnects)
		}
		t.Logf("trial %d: video gap %.0f ms, audio gap %.0f ms", tr.Trial, tr.VideoGapMs, tr.AudioGapMs)
	}
}
