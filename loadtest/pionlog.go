package loadtest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs sends pion's warnings and errors to the run's logger (at Warn, so
// they show with -v only: a thousand clients closing log a lot of harmless
// "closed pipe" errors) and drops its debug chatter.
type pionLogs struct{ l *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.l.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) log(level slog.Level, msg string) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, msg)
	}
}

func (p pionLogger) Trace(string)                   {}
func (p pionLogger) Tracef(string, ...any)          {}
func (p pionLogger) Debug(string)                   {}
func (p pionLogger) Debugf(string, ...any)          {}
func (p pionLogger) Info(msg string)                { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, a ...any)  { p.log(slog.LevelDebug, fmt.Sprintf(format, a...)) }
func (p pionLogger) Warn(msg string)                { p.log(slog.LevelWarn, msg) }
func (p pionLogger) Warnf(format string, a ...any)  { p.log(slog.LevelWarn, fmt.Sprintf(format, a...)) }
func (p pionLogger) Error(msg string)               { p.log(slog.LevelWarn, msg) }
func (p pionLogger) Errorf(format string, a ...any) { p.log(slog.LevelWarn, fmt.Sprintf(format, a...)) }
