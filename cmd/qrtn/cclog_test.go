package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// ccLog keeps the congestion controllers' state changes ("qbbr: a→b
// because …", logged at debug level by every trunk) of a test network, so
// that a failing media test can say how its trunks' estimates moved.
type ccLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines int
	inner slog.Handler
}

const ccLogMaxLines = 400

func newCCLog() *ccLog {
	l := &ccLog{}
	l.inner = slog.NewTextHandler(&l.buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	return l
}

// logger returns a logger that records only the controllers' lines.
func (l *ccLog) logger() *slog.Logger { return slog.New(ccHandler{l: l, h: l.inner}) }

// dump writes what was recorded to the test's log.
func (l *ccLog) dump(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(l.buf.String()) {
		t.Log(strings.TrimSpace(line))
	}
}

type ccHandler struct {
	l *ccLog
	h slog.Handler
}

func (c ccHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelDebug }

func (c ccHandler) Handle(ctx context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "qbbr:") {
		return nil
	}
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	if c.l.lines >= ccLogMaxLines {
		return nil
	}
	c.l.lines++
	return c.h.Handle(ctx, r)
}

func (c ccHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ccHandler{l: c.l, h: c.h.WithAttrs(as)}
}

func (c ccHandler) WithGroup(name string) slog.Handler {
	return ccHandler{l: c.l, h: c.h.WithGroup(name)}
}
