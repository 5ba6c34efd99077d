package node

import (
	"context"
	"net/http"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

// Graceful drain (issue 12): the node stops being scheduled (its link
// state says draining, so schedulers stop choosing it; new joins here get
// `draining`), tells its clients to move to another access node in small
// batches (`migrate`, with a target), waits until they have gone or the
// drain timeout passes, then closes. A client that moved leaves its old
// session here detached; the trunks tell this node that the identity now
// lives on a newer node, which replaces it (newest session wins), or its
// grace period ends it. Nothing here waits without a bound: LiveKit #4663
// is a drain that hung forever.

// DrainConfig tunes a drain.
type DrainConfig struct {
	// Timeout bounds the wait for clients to leave (30 s); then the node
	// closes anyway.
	Timeout time.Duration `yaml:"timeout"`
	// Batch clients are told to move every Interval (10 every 500 ms), so
	// that a full node does not stampede its neighbours.
	Batch    int           `yaml:"batch"`
	Interval time.Duration `yaml:"interval"`
}

func (c DrainConfig) withDefaults() DrainConfig {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 10
	}
	if c.Interval <= 0 {
		c.Interval = 500 * time.Millisecond
	}
	return c
}

// Signaling is the node's signaling server (for tests and tools: resume
// counters, the DropConnections hook); nil on a forwarding node.
func (n *Node) Signaling() *signaling.Server { return n.sig }

// DrainBound is the longest a drain can take: the drain timeout, the
// shutdown timeout and the time its websockets may take to close.
func (n *Node) DrainBound() time.Duration {
	return n.cfg.Drain.Timeout + n.cfg.ShutdownTimeout + 15*time.Second
}

// Draining reports whether the node is draining.
func (n *Node) Draining() bool { return n.draining.Load() }

// Drain drains the node and closes it; it returns when the node is closed,
// within the drain timeout plus the shutdown timeout, or sooner if ctx
// ends (the node is then closed at once). Calling it again waits for the
// first drain.
func (n *Node) Drain(ctx context.Context) error {
	if !n.draining.CompareAndSwap(false, true) {
		select {
		case <-n.done:
		case <-ctx.Done():
		}
		return n.closeErr
	}
	cfg := n.cfg.Drain
	n.log.Info("draining", "timeout", cfg.Timeout)
	n.notifyDraining()
	n.SetDraining(true) // the scheduler here and everywhere stops choosing this node
	if n.sig != nil {
		n.sig.SetDraining(true)
		n.moveClients(ctx, cfg)
	}
	err := n.Close()
	n.log.Info("drained")
	return err
}

// moveClients tells the clients to move, a batch at a time, and waits
// until none is left or the timeout.
func (n *Node) moveClients(ctx context.Context, cfg DrainConfig) {
	deadline := time.Now().Add(cfg.Timeout)
	told := map[string]bool{}
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		sessions := n.sig.Sessions()
		if len(sessions) == 0 || time.Now().After(deadline) {
			if len(sessions) > 0 {
				n.log.Warn("drain timeout: closing with clients left", "clients", len(sessions))
			}
			return
		}
		sent := 0
		for _, s := range sessions {
			if sent >= cfg.Batch {
				break
			}
			if told[s.ID] || !s.Attached {
				continue
			}
			to, ok := n.migrationTarget(s.Room, s.Identity)
			if !ok {
				break // nowhere to go: wait for the timeout or for clients to leave
			}
			if n.sig.Migrate(s.ID, to, "drain") {
				told[s.ID] = true
				sent++
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-n.done:
			return
		case <-tick.C:
		}
	}
}

// drainRoutes adds POST /api/drain (an admin token): drain this node as
// SIGTERM does. It answers 202 at once; the node closes when the drain
// ends, within DrainBound.
func (n *Node) drainRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/drain", n.admin(func(*http.Request) (int, any, error) {
		if n.sig == nil {
			return 0, nil, errf(http.StatusConflict, codeNotAccess, "a forwarding node has no clients to drain")
		}
		if !n.draining.Load() {
			// Drain ends by closing the node, so the node owns this goroutine.
			go func() { _ = n.Drain(context.Background()) }()
		}
		return http.StatusAccepted, map[string]any{"node": n.cfg.Name, "draining": true,
			"timeout_ms": n.cfg.Drain.Timeout.Milliseconds(), "bound_ms": n.DrainBound().Milliseconds()}, nil
	}))
}
