package loadtest_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/loadtest"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
)

func startNode(t *testing.T) string {
	t.Helper()
	n, err := node.New(node.Config{Dev: true, SFU: sfu.Config{UDPAddr: "127.0.0.1:0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return strings.TrimSuffix(n.URL(), "/")
}

// TestRunAgainstANode runs synthetic clients through a real node: every
// subscriber receives the small layer it asked for, with frames, latency and
// a first-frame time measured, and the run leaves no goroutines behind.
func TestRunAgainstANode(t *testing.T) {
	base := startNode(t)
	before := runtime.NumGoroutine()
	cfg := loadtest.DefaultConfig()
	cfg.URL, cfg.Subscribers, cfg.Prefer = base, 3, "small"
	// This test checks the tool's plumbing, not the node's bandwidth
	// estimation: without transport-cc feedback a CPU-starved machine (the
	// whole suite runs packages in parallel on two cores) cannot make GCC
	// see congestion and pause the video the test then looks for.
	cfg.NoTWCC = true
	// A short progress interval runs the progress path under the race detector.
	cfg.Warmup, cfg.Duration, cfg.Interval = time.Second, 2*time.Second, 300*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.JoinFailed != 0 || rep.VideoTracks != 3 || rep.AudioTracks != 3 {
		t.Fatalf("join failures %d (%v), %d video and %d audio down-tracks; want 0, 3, 3", rep.JoinFailed, rep.JoinErrors, rep.VideoTracks, rep.AudioTracks)
	}
	if rep.VideoLayers["small"] != 3 {
		t.Errorf("video layers at the end %v, want small 3", rep.VideoLayers)
	}
	if rep.NoFirstFrame != 0 || rep.FirstP50 <= 0 {
		t.Errorf("first frame: p50 %.0f ms, %d without", rep.FirstP50, rep.NoFirstFrame)
	}
	for _, c := range rep.Clients {
		if c.Publisher {
			continue
		}
		for _, tr := range c.Tracks {
			if tr.Frames == 0 || tr.LatencyP50 <= 0 {
				t.Errorf("%s %s: %d frames, latency p50 %.1f ms", c.Identity, tr.Kind, tr.Frames, tr.LatencyP50)
			}
			// The small layer is ≈150 kbit/s; the large one would be ten times that.
			if tr.Kind == "video" && (tr.Layer != "small" || tr.Kbps > 600) {
				t.Errorf("%s asked for small, got layer %q at %.0f kbit/s", c.Identity, tr.Layer, tr.Kbps)
			}
		}
	}
	// Every client goroutine must be gone (pion's own take a moment to exit).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, mod := range []func(*loadtest.Config){
		func(c *loadtest.Config) { c.URL = "" },
		func(c *loadtest.Config) { c.Publishers = 0 },
		func(c *loadtest.Config) { c.Prefer = "medium-rare" },
		func(c *loadtest.Config) { c.Duration = 0 },
	} {
		cfg := loadtest.DefaultConfig()
		cfg.URL = "http://127.0.0.1:1"
		mod(&cfg)
		if _, err := loadtest.Run(context.Background(), cfg, nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// TestRunSubscribeTo: with --subscribe-to 1, each subscriber receives one
// publisher only (selective subscription), taken in turn.
func TestRunSubscribeTo(t *testing.T) {
	base := startNode(t)
	cfg := loadtest.DefaultConfig()
	cfg.URL, cfg.Publishers, cfg.Subscribers, cfg.SubscribeTo, cfg.Prefer, cfg.NoTWCC = base, 2, 4, 1, "small", true
	// A 4 s warm-up: on a loaded machine a subscriber's first video took over 1 s.
	cfg.Warmup, cfg.Duration, cfg.Interval = 4*time.Second, 2*time.Second, 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	senders := map[string]int{}
	for _, c := range rep.Clients {
		if c.Publisher {
			continue
		}
		video := 0
		for _, tr := range c.Tracks {
			if tr.Kind == "video" {
				video++
				senders[tr.Participant]++
			}
		}
		if video != 1 {
			t.Errorf("%s receives %d videos, want 1", c.Identity, video)
		}
	}
	if len(senders) != 2 {
		t.Errorf("subscribers receive from %v, want both publishers in turn", senders)
	}
}
