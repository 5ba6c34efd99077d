package sfu

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestPionNoiseIsDebug: pion's start-up and shutdown warnings that every
// session produces go to debug; other warnings stay warnings.
func TestPionNoiseIsDebug(t *testing.T) {
	var buf bytes.Buffer
	l := pionLogs{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}.NewLogger("ice")
	l.Warn("Failed to ping without candidate pairs. Connection is not possible yet.")
	l.Warnf("Failed to read from candidate %s: %s", "udp4 host 127.0.0.1:1", "io: read/write on closed pipe")
	l.Warnf("Incoming unhandled RTCP ssrc(%d), OnTrack will not be fired", 1234)
	if buf.Len() != 0 {
		t.Fatalf("noise logged at warn: %s", buf.String())
	}
	l.Warnf("failed to handle DTLS: %s", "bad certificate")
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "bad certificate") {
		t.Fatalf("a real warning was lost: %q", buf.String())
	}
}
