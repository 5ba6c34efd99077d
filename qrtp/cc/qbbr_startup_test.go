package cc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// startupEnd runs a fresh qbbr over a 25 Mbit/s, 200 ms path with loss
// before the bottleneck and returns when Startup ended, the packets the
// queue dropped until Drain ended, and the packets sent until then.
func startupEnd(t *testing.T, loss, bufferBDP float64) (end time.Duration, drops, sent int) {
	t.Helper()
	q := NewQBBR(Config{Seed: 1})
	p := newPath(q, 25, 200*time.Millisecond, bufferBDP)
	p.lossBefore = loss
	changes := watchQBBR(q, p)
	for p.now.Sub(t0) < 8*time.Second && findChange(*changes, "drain", "probe_bw") == nil {
		p.run(10 * time.Millisecond)
	}
	s2d := findChange(*changes, "startup", "drain")
	if s2d == nil || findChange(*changes, "drain", "probe_bw") == nil {
		t.Fatalf("loss %.0f%%: no startup -> drain -> probe_bw in 8 s: %+v", 100*loss, *changes)
	}
	return s2d.at.Sub(t0), p.tailDrops, int(p.pn)
}

// TestQBBRStartupDoublesDespiteNoiseLoss: Startup's window grows by what
// each ACK resolved, delivered or lost to noise, so at 50% loss it finds
// the link within two rounds of a clean path (0.13 s later). Grown by
// acked bytes only, it grew 1.5× per round and took 1.06 s (five rounds)
// longer.
func TestQBBRStartupDoublesDespiteNoiseLoss(t *testing.T) {
	clean, _, _ := startupEnd(t, 0, 4)
	lossy, _, _ := startupEnd(t, 0.5, 4)
	t.Logf("Startup ends after %v clean, %v at 50%% loss", clean, lossy)
	if lossy > clean+2*200*time.Millisecond {
		t.Errorf("Startup at 50%% loss ended %v after a clean one (%v): more than two rounds later", lossy-clean, clean)
	}
}

// TestQBBRStartupOvershootFitsTheBuffer: with a 1-BDP buffer and 20% loss
// before it, Startup's window gain of 2 keeps its queue within the buffer:
// the queue drops next to nothing before ProbeBW (8 of 4470 packets).
// BBRv1's 2.885 queued up to 1.9 BDP and the queue dropped 486 of 5180.
func TestQBBRStartupOvershootFitsTheBuffer(t *testing.T) {
	end, drops, sent := startupEnd(t, 0.2, 1)
	t.Logf("Startup ended at %v; %d of %d packets dropped at the queue by the end of Drain", end, drops, sent)
	if drops > sent/100 {
		t.Errorf("%d of %d packets dropped at a 1-BDP queue during Startup and Drain", drops, sent)
	}
}

// TestQBBRLogsTransitions: every state change is logged once, from the
// one place that makes it, with its reason.
func TestQBBRLogsTransitions(t *testing.T) {
	var buf bytes.Buffer
	q := NewQBBR(Config{Seed: 1, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	p := newPath(q, 100, 20*time.Millisecond, 1)
	changes := watchQBBR(q, p)
	p.run(time.Second)
	log := buf.String()
	if len(*changes) < 2 {
		t.Fatalf("only %d state changes", len(*changes))
	}
	for _, c := range *changes {
		if want := "qbbr: " + c.from + "→" + c.to + " because "; !strings.Contains(log, want) {
			t.Errorf("no %q line in the log:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "qbbr: "); n != len(*changes) {
		t.Errorf("%d log lines for %d state changes:\n%s", n, len(*changes), log)
	}
}
