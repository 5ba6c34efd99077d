package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLogs adapts slog to pion's logger factory. pion's info level is
// chatty per connection, so it maps to debug.
type pionLogs struct{ l *slog.Logger }

// NewLogger returns a logger for one pion component.
func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.l.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) log(level slog.Level, msg string) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, msg)
	}
}

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

// The methods below implement logging.LeveledLogger.

func (p pionLogger) Trace(msg string)                  { p.log(slog.LevelDebug-4, msg) }
func (p pionLogger) Tracef(format string, args ...any) { p.logf(slog.LevelDebug-4, format, args...) }
func (p pionLogger) Debug(msg string)                  { p.log(slog.LevelDebug-2, msg) }
func (p pionLogger) Debugf(format string, args ...any) { p.logf(slog.LevelDebug-2, format, args...) }
func (p pionLogger) Info(msg string)                   { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Warn(msg string)                   { p.log(warnLevel(msg), msg) }
func (p pionLogger) Warnf(format string, args ...any)  { p.warn(fmt.Sprintf(format, args...)) }
func (p pionLogger) warn(msg string)                   { p.log(warnLevel(msg), msg) }

// pionNoise are pion warnings about what every session goes through:
// starting (ICE pings before the remote candidates, DTLS or RTCP before the
// stream is known) and ending (reads and accepts on closed sockets). A
// two-tab demo session logged dozens of them at the default level; they
// go to debug. Failures that matter (ICE failed, DTLS or SRTP errors) stay
// warnings.
var pionNoise = []string{
	// The SFU binds its single ICE socket to the unspecified address on
	// purpose (one port for every interface).
	"unspecified address",
	"Failed to ping without candidate pairs",
	"no endpoint for packet starting with",
	"OnTrack will not be fired",
	"stream is already closed",
	"read/write on closed pipe",
	"use of closed network connection",
}

// warnLevel is the level of one pion warning: debug for pionNoise.
func warnLevel(msg string) slog.Level {
	for _, n := range pionNoise {
		if strings.Contains(msg, n) {
			return slog.LevelDebug
		}
	}
	return slog.LevelWarn
}

func (p pionLogger) Error(msg string)                  { p.log(slog.LevelError, msg) }
func (p pionLogger) Errorf(format string, args ...any) { p.logf(slog.LevelError, format, args...) }
