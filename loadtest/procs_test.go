package loadtest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/qrtn/qrtn/loadtest"
)

// TestRunInProcesses spreads the subscribers over two child processes (this
// test binary, re-run as TestLoadtestChildProcess): the coordinator's report
// covers every subscriber of every process, within one window, and reads
// the node's forwarding counters.
func TestRunInProcesses(t *testing.T) {
	base := startNode(t)
	cfg := loadtest.DefaultConfig()
	cfg.URL, cfg.Subscribers, cfg.Prefer, cfg.NoTWCC = base, 4, "small", true
	cfg.Warmup, cfg.Duration, cfg.Interval = time.Second, 2*time.Second, 0
	cfg.NodePID = os.Getpid() // the node runs in this process
	cfg.Procs = 2
	cfg.Spawn = func(i, subscribers int, joinRate float64) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadtestChildProcess$")
		cmd.Env = append(os.Environ(), "LOADTEST_CHILD_URL="+base, "LOADTEST_CHILD_SUBS="+strconv.Itoa(subscribers),
			"LOADTEST_CHILD_PREFIX=p"+strconv.Itoa(i)+"-")
		cmd.Stderr = os.Stderr
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadtest.Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Subscribers != 4 || rep.VideoTracks != 4 || rep.VideoLayers["small"] != 4 || rep.JoinFailed != 0 {
		t.Fatalf("%d subscribers, %d video down-tracks, layers %v, %d join failures; want 4, 4, small 4, 0",
			rep.Subscribers, rep.VideoTracks, rep.VideoLayers, rep.JoinFailed)
	}
	seen := map[string]bool{}
	for _, c := range rep.Clients {
		if seen[c.Identity] {
			t.Errorf("identity %s twice", c.Identity)
		}
		seen[c.Identity] = true
	}
	if len(seen) != 5 || rep.Packets == 0 || rep.NodeForwarded < rep.Packets/2 || rep.FirstP50 <= 0 {
		t.Errorf("%d clients, %d packets received, %d forwarded by the node, first frame p50 %.0f ms",
			len(seen), rep.Packets, rep.NodeForwarded, rep.FirstP50)
	}
}

// TestLoadtestChildProcess is a subscriber process of TestRunInProcesses;
// run directly, it does nothing.
func TestLoadtestChildProcess(t *testing.T) {
	url := os.Getenv("LOADTEST_CHILD_URL")
	if url == "" {
		t.Skip("only a child of TestRunInProcesses")
	}
	cfg := loadtest.DefaultConfig()
	n, _ := strconv.Atoi(os.Getenv("LOADTEST_CHILD_SUBS"))
	cfg.URL, cfg.Subscribers, cfg.Publishers, cfg.Prefer, cfg.NoTWCC = url, n, 0, "small", true
	cfg.Duration, cfg.Interval = 2*time.Second, 0
	cfg.IdentityPrefix = os.Getenv("LOADTEST_CHILD_PREFIX")
	cfg.Child = &loadtest.ChildIO{In: os.Stdin, Out: os.Stdout}
	rep, err := loadtest.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		t.Fatal(err)
	}
	os.Exit(0) // nothing after the report on stdout
}
