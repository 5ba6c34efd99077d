package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/qrtn/qrtn/loadtest"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/qoe/store/pgtest"
)

type qualityStatus struct {
	Writer store.WriterStats `json:"writer"`
	Store  string            `json:"store"`
}

func waitStatus(t *testing.T, n *node.Node, within time.Duration, what string, ok func(qualityStatus) bool) qualityStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var st qualityStatus
		getJSON(t, n.URL()+"api/quality/status", &st)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestQualityPostgresOutageMidCall: the node writes to PostgreSQL while a
// call runs; the server stops mid-call and starts again. The call keeps
// flowing, records beyond the bound are dropped and counted, and writing
// resumes by itself.
func TestQualityPostgresOutageMidCall(t *testing.T) {
	pg := pgtest.Start(t)
	n := startQualityNode(t, node.QualityConfig{Database: pg.DSN, MaxPending: 40}, "")
	waitStatus(t, n, 30*time.Second, "the store to open", func(s qualityStatus) bool { return s.Store != "" })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan *loadtest.Report, 1)
	go func() {
		cfg := loadtest.DefaultConfig()
		cfg.URL, cfg.Room, cfg.Subscribers = n.URL()[:len(n.URL())-1], "outage", 1
		cfg.Warmup, cfg.Duration, cfg.Interval, cfg.QualityEvery = time.Second, 8*time.Second, 0, 500*time.Millisecond
		cfg.NoTWCC = true
		rep, err := loadtest.Run(ctx, cfg, nil)
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	waitStatus(t, n, 30*time.Second, "records written", func(s qualityStatus) bool { return s.Writer.Written > 20 })
	pg.Stop(t)
	down := waitStatus(t, n, 30*time.Second, "drops while the database is down", func(s qualityStatus) bool {
		return !s.Writer.Healthy && s.Writer.Dropped > 0
	})
	t.Logf("database down: %+v", down.Writer)
	pg.Start(t)
	up := waitStatus(t, n, 60*time.Second, "writing to resume", func(s qualityStatus) bool {
		return s.Writer.Healthy && s.Writer.Written > down.Writer.Written
	})
	t.Logf("database back: %+v", up.Writer)

	rep := <-done
	if rep == nil {
		t.FailNow()
	}
	// The call flowed through the outage: about 25 frames/s all along
	// (a blocked node would stall for the seconds the database was away).
	want := uint64(25 * rep.WindowS * 0.6)
	t.Logf("call: %d frames in %.1f s, %d stalls of 600 ms, video loss %.3f", rep.Frames, rep.WindowS, rep.Stalls, rep.VideoLoss)
	if rep.VideoTracks != 1 || rep.Frames < want {
		t.Fatalf("the call did not keep flowing: %d video tracks, %d frames (want ≥ %d)", rep.VideoTracks, rep.Frames, want)
	}
	var calls struct {
		Calls []struct{ Participant string }
	}
	if code := getJSON(t, n.URL()+"api/quality/calls?room=outage", &calls); code != 200 || len(calls.Calls) != 2 {
		t.Fatalf("calls after the outage: %d %+v", code, calls)
	}
}
