package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
)

// startTwoRegions starts access node a (eu) and access node b (us) with
// one clean 20 ms trunk between them, closed when the test ends.
func startTwoRegions(tb testing.TB, ctx context.Context) *network {
	tb.Helper()
	return startTwoRegionsLog(tb, ctx, slog.New(slog.DiscardHandler))
}

// startTwoRegionsLog is startTwoRegions with the nodes logging to logger.
func startTwoRegionsLog(tb testing.TB, ctx context.Context, logger *slog.Logger) *network {
	tb.Helper()
	net, err := startNetwork(ctx, networkSpec{
		Nodes:  []nodeSpec{{"a", "eu", "access"}, {"b", "us", "access"}},
		Trunks: [][2]string{{"a", "b"}},
		Link:   netsim.LinkConfig{Delay: 20 * time.Millisecond},
	}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(net.Close)
	return net
}
