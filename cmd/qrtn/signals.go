package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qrtn/qrtn/node"
)

// Shutting down on signals. The first SIGTERM (or interrupt) drains a node:
// it stops being scheduled, moves its clients to other access nodes in
// small batches and closes once they are gone or its drain timeout passed.
// A second signal exits at once. Whatever happens, the process ends within
// a hard bound: a drain that hangs (LiveKit #4663) is the failure to avoid.

// exitFunc ends the process (os.Exit; tests pass one that records).
type exitFunc func(code int)

// notifySignals returns a channel of SIGTERM and interrupts. main's
// context is cancelled by the first one too; this channel also sees the
// second.
func notifySignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// errExitedNow is what serveUntilDone returns after asking exit to end the
// process (tests' exit functions return).
var errExitedNow = errors.New("a second signal: exited at once")

// serveUntilDone runs n until it closes. The first signal (or ctx ending,
// which the first signal also does) drains it; a second signal exits at
// once; a drain that outlives its bound exits too.
func serveUntilDone(ctx context.Context, n *node.Node, sigs <-chan os.Signal, exit exitFunc, stderr io.Writer) error {
	drained := make(chan error, 1)
	var bound <-chan time.Time
	draining := false
	drain := func() {
		if draining {
			return
		}
		draining = true
		fmt.Fprintf(stderr, "qrtn serve: draining (a second SIGTERM exits at once; at most %v)\n", n.DrainBound())
		bound = time.After(n.DrainBound())
		go func() { drained <- n.Drain(context.Background()) }()
	}
	done := ctx.Done()
	signals := 0
	for {
		select {
		case <-done:
			done = nil
			drain()
		case <-sigs:
			// main's context saw the first signal too: count them here.
			if signals++; signals >= 2 {
				fmt.Fprintln(stderr, "qrtn serve: second signal: exiting now")
				exit(1)
				return errExitedNow
			}
			drain()
		case err := <-drained:
			return err
		case <-n.Done():
			if !draining {
				return nil
			}
		case <-bound:
			fmt.Fprintln(stderr, "qrtn serve: the drain outlived its bound: exiting now")
			exit(1)
			return errExitedNow
		}
	}
}

// exitOnSecondSignal makes a second signal end the process at once while
// the caller shuts down on the first (qrtn demo). Stop it when done.
func exitOnSecondSignal(stderr io.Writer) (stop func()) {
	sigs, unnotify := notifySignals()
	quit := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-quit:
				return
			case <-sigs:
				if n++; n >= 2 {
					fmt.Fprintln(stderr, "qrtn: second signal: exiting now")
					os.Exit(1)
				}
			}
		}
	}()
	return func() {
		unnotify()
		close(quit)
	}
}
