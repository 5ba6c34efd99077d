package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/qrtn/qrtn/loadtest"
	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
)

// Survival benchmarks (`qrtn loadtest --survive KIND`): a synthetic
// publisher and subscriber, and --trials disruptions of one kind, each
// measured as the media gap at the subscriber (loadtest.Survive):
//
//	ws     both clients' websockets are cut (one node, in this process or --url)
//	ice    the node stops answering the ICE paths in use (a node in this process)
//	kill   the publisher's access node is killed with SIGKILL
//	drain  the publisher's access node is drained with SIGTERM
//	still  the control for drain: the same cluster and clients, nothing
//	       disrupted, and each trial's window as long as a drain's
//
// kill and drain run a cluster of `qrtn serve` processes (cluster.go): the
// publisher joins eu-1, the subscriber us-1 (across fwd-1); the killed or
// drained node is restarted after each trial, and the next trial hits the
// node the publisher moved to.

// surviveKinds lists the disruptions.
var surviveKinds = []string{"ws", "ice", "kill", "drain", "still"}

func runSurvive(ctx context.Context, kind, url string, trials int, media loadtest.MediaConfig, logger *slog.Logger, asJSON bool, stdout, stderr io.Writer) error {
	cfg := loadtest.SurviveConfig{Room: "survive", Trials: trials, Media: media, Logger: logger}
	switch kind {
	case "ws", "ice":
		if url != "" && kind == "ice" {
			return errors.New("--survive ice cuts the node's ICE paths from inside: run it without --url")
		}
		cfg.URL = strings.TrimSuffix(url, "/")
		var n *node.Node
		if url == "" {
			var err error
			if n, err = startSurviveNode(ctx, logger); err != nil {
				return err
			}
			defer n.Close()
			cfg.URL = strings.TrimSuffix(n.URL(), "/")
			fmt.Fprintf(stderr, "loadtest: in-process %s\n", n.Line())
		}
		cfg.Disrupt = func(_ context.Context, _ int, s *loadtest.Survivors) error {
			if kind == "ws" {
				s.CutWebsockets()
				return nil
			}
			if n.SFU().CutPaths(10*time.Minute) == 0 {
				return errors.New("no ICE path to cut")
			}
			return nil
		}
	case "kill", "drain", "still":
		if url != "" {
			return fmt.Errorf("--survive %s runs its own cluster of nodes: run it without --url", kind)
		}
		fmt.Fprintln(stderr, "loadtest: starting a cluster: eu-1, eu-2 (eu), us-1 (us), fwd-1")
		cl, err := startCluster(ctx, stderr, "drain:\n  timeout: 20s\n  interval: 100ms\n")
		if err != nil {
			return err
		}
		defer cl.close()
		if err := cl.restartWait(ctx); err != nil {
			return err
		}
		cfg.URL = strings.TrimSuffix(cl.nodes["eu-1"].url, "/")
		cfg.SubscriberURL = strings.TrimSuffix(cl.nodes["us-1"].url, "/")
		if kind == "still" {
			cfg.Disrupt = func(ctx context.Context, _ int, _ *loadtest.Survivors) error {
				return sleepCtx(ctx, stillWindow)
			}
			break
		}
		var hit string
		cfg.Disrupt = func(_ context.Context, _ int, s *loadtest.Survivors) error {
			hit = s.PublisherNode()
			if kind == "kill" {
				return cl.signal(hit, syscall.SIGKILL)
			}
			return cl.signal(hit, syscall.SIGTERM)
		}
		cfg.Restore = func(ctx context.Context, _ int, _ *loadtest.Survivors) error {
			return cl.restart(ctx, hit)
		}
	default:
		return fmt.Errorf("--survive %q: want one of %s", kind, strings.Join(surviveKinds, ", "))
	}
	progress := stdout
	if asJSON {
		progress = stderr
	}
	rep, err := loadtest.Survive(ctx, cfg, progress)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(stdout)
	return nil
}

// stillWindow is how long a `--survive still` trial waits before it looks
// for recovery: the time a drain trial takes from the SIGTERM until both
// clients are idle again (median 0.54–0.55 s in two runs of 40 at load
// 2–9, docs/survival.md), so that both count gaps over windows of the
// same length.
const stillWindow = 550 * time.Millisecond

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restartWait waits until every access node's scheduler offers every
// other access node: the cluster's trunks and link state are up.
func (c *cluster) restartWait(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range clusterNodes {
		for _, b := range clusterNodes {
			if a.role != "access" || b.role != "access" || a.name == b.name {
				continue
			}
			for !c.offers(a.name, b.name) {
				if time.Now().After(deadline) || ctx.Err() != nil {
					return fmt.Errorf("the cluster did not come up: %s does not offer %s", a.name, b.name)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	return nil
}

// startSurviveNode runs a development node whose ICE paths can be cut.
func startSurviveNode(ctx context.Context, logger *slog.Logger) (*node.Node, error) {
	n, err := node.New(node.Config{Name: "survive", Dev: true, SFU: sfu.Config{UDPAddr: "127.0.0.1:0", PathFaults: true}}, logger)
	if err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}
