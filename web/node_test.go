package web_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/sfu"
)

// startNode runs an in-process development access node on loopback ports
// for the browser tests and returns its base URL (no trailing slash). The
// node's warnings go to stderr with -v; it closes when the test ends.
func startNode(t testing.TB) string {
	t.Helper()
	return strings.TrimSuffix(startNodeT(t).URL(), "/")
}

// startNodeT is startNode returning the node itself, for tests that look
// inside its SFU.
func startNodeT(t testing.TB) *node.Node {
	t.Helper()
	level := slog.LevelError
	if testing.Verbose() {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	n, err := node.New(node.Config{Dev: true, SFU: sfu.Config{UDPAddr: "127.0.0.1:0"}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("closing the node: %v", err)
		}
	})
	return n
}
