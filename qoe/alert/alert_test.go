package alert

import (
	"strings"
	"testing"
)

func TestEngine(t *testing.T) {
	e := New("eu-1", DefaultRules())
	type step struct {
		kind, subject string
		value         float64
		want          string // "" none, "firing", "resolved"
	}
	steps := []step{
		{LinkLoss, "eu-1→fwd-1", 0.1, ""},
		{LinkLoss, "eu-1→fwd-1", 0.4, ""},
		{LinkLoss, "eu-1→fwd-1", 0.4, ""},
		{LinkLoss, "eu-1→fwd-2", 0.5, ""}, // another subject runs its own count
		{LinkLoss, "eu-1→fwd-1", 0.1, ""}, // the run breaks
		{LinkLoss, "eu-1→fwd-1", 0.4, ""},
		{LinkLoss, "eu-1→fwd-1", 0.4, ""},
		{LinkLoss, "eu-1→fwd-1", 0.4, "firing"},
		{LinkLoss, "eu-1→fwd-1", 0.5, ""}, // fires once
		{LinkLoss, "eu-1→fwd-1", 0.1, ""},
		{LinkLoss, "eu-1→fwd-1", 0.1, ""},
		{LinkLoss, "eu-1→fwd-1", 0.1, "resolved"},
		{NodeStalls, "eu-1", 0.999, ""},
		{NodeStalls, "eu-1", 0.98, "firing"}, // below, at once
		{"unknown", "x", 1e9, ""},
	}
	for i, s := range steps {
		a, ok := e.Observe(int64(i)*2000, s.kind, s.subject, s.value)
		got := ""
		if ok {
			got = a.State
			if a.Kind != s.kind || a.Subject != s.subject || a.Node != "eu-1" || a.Message == "" {
				t.Fatalf("step %d: %+v", i, a)
			}
		}
		if got != s.want {
			t.Fatalf("step %d (%s %s %v): got %q, want %q", i, s.kind, s.subject, s.value, got, s.want)
		}
	}
	if f := e.Firing(); f[NodeStalls] != 1 || f[LinkLoss] != 0 {
		t.Fatalf("firing %v", f)
	}
	a, ok := e.Forget(99_000, NodeStalls, "eu-1")
	if !ok || a.State != "resolved" || !strings.Contains(a.Message, "gone") {
		t.Fatalf("forget: %+v %v", a, ok)
	}
	e2 := New("n", DefaultRules())
	e2.Observe(0, LinkRTT, "a→b", 900)
	e2.Observe(1, LinkRTT, "a→b", 900)
	if a, ok := e2.Observe(2, LinkRTT, "a→b", 900); !ok || a.Message != "a→b: RTT 900 ms, above 400 ms" {
		t.Fatalf("message %q", a.Message)
	}
}

func TestYesNoMessages(t *testing.T) {
	e := New("f", DefaultRules())
	a, ok := e.Observe(1000, LinkDown, "f→b", 1)
	if !ok || a.Message != "f→b: trunk down" {
		t.Fatalf("%+v", a)
	}
	a, ok = e.Observe(4000, LinkDown, "f→b", 0)
	if !ok || a.State != "resolved" || a.Message != "f→b: trunk down over after 3 s" {
		t.Fatalf("%+v", a)
	}
}
