// Package alert is the quality platform's early warning: a node feeds it
// its figures (a trunk's loss, expiry and RTT, its own CPU, stall
// compliance and join time) every few seconds, and it says when one
// crossed its SLA threshold for long enough (firing) and when it came
// back (resolved). One alert per kind and subject fires at a time.
//
// It is pure: figures and unix-ms times in, qoe.Alert transitions out.
package alert

import (
	"fmt"

	"github.com/qrtn/qrtn/qoe"
)

// Rule is one kind of alert.
type Rule struct {
	Kind string
	// Threshold and Below: the figure is bad above Threshold (below it
	// with Below).
	Threshold float64
	Below     bool
	// For: bad this many observations in a row to fire; good as many to
	// resolve.
	For int
	// Format renders the figure for messages, e.g. "%.0f%%" with Scale 100;
	// empty for a yes/no figure, whose messages say only What.
	Format string
	Scale  float64
	// What says what the figure is, for messages.
	What string
}

// The kinds of alert a node raises.
const (
	LinkLoss    = "link_loss"
	LinkExpired = "link_expired"
	LinkRTT     = "link_rtt"
	LinkDown    = "link_down"
	NodeCPU     = "node_cpu"
	NodeStalls  = "node_stall_compliance"
	NodeJoin    = "node_join_time"
)

// DefaultRules follow the talk's SLA: a link whose loss outgrows what FEC
// repairs, lets media expire, or whose round trip alone eats the 400 ms
// budget; a node short of CPU, below 99.5 % stall compliance, or with
// joins over 5 s. Media expiring and a trunk down lose media at once, so
// they fire on the first sample; the others must last.
func DefaultRules() []Rule {
	return []Rule{
		{Kind: LinkLoss, Threshold: 0.25, For: 3, Format: "%.0f%%", Scale: 100, What: "loss"},
		{Kind: LinkExpired, Threshold: 1, For: 1, Format: "%.1f/s", Scale: 1, What: "media messages expiring"},
		{Kind: LinkRTT, Threshold: 400, For: 3, Format: "%.0f ms", Scale: 1, What: "RTT"},
		{Kind: LinkDown, Threshold: 0.5, For: 1, What: "trunk down"},
		{Kind: NodeCPU, Threshold: 0.9, For: 3, Format: "%.0f%%", Scale: 100, What: "CPU of its cores"},
		{Kind: NodeStalls, Threshold: 0.995, Below: true, For: 1, Format: "%.2f%%", Scale: 100, What: "stall compliance"},
		{Kind: NodeJoin, Threshold: 5000, For: 1, Format: "%.0f ms", Scale: 1, What: "join time p95"},
	}
}

// Engine tracks every (kind, subject) pair it was fed.
type Engine struct {
	node  string
	rules map[string]Rule
	state map[string]*state
}

type state struct {
	firing    bool
	run       int // observations in a row on the other side
	firedAt   int64
	lastValue float64
}

// New returns an engine for a node's alerts.
func New(node string, rules []Rule) *Engine {
	e := &Engine{node: node, rules: map[string]Rule{}, state: map[string]*state{}}
	for _, r := range rules {
		e.rules[r.Kind] = r
	}
	return e
}

// Observe feeds one figure and returns the alert that fired or resolved
// with it, if any. Unknown kinds are ignored.
func (e *Engine) Observe(now int64, kind, subject string, value float64) (qoe.Alert, bool) {
	r, ok := e.rules[kind]
	if !ok {
		return qoe.Alert{}, false
	}
	key := kind + "\x00" + subject
	st := e.state[key]
	if st == nil {
		st = &state{}
		e.state[key] = st
	}
	st.lastValue = value
	bad := value > r.Threshold
	if r.Below {
		bad = value < r.Threshold
	}
	if bad == st.firing {
		st.run = 0
		return qoe.Alert{}, false
	}
	st.run++
	if st.run < max(r.For, 1) {
		return qoe.Alert{}, false
	}
	st.run = 0
	st.firing = bad
	a := qoe.Alert{Node: e.node, At: now, Kind: kind, Subject: subject, Value: value, Threshold: r.Threshold}
	cmp := "above"
	if r.Below {
		cmp = "below"
	}
	fv := func(v float64) string { return fmt.Sprintf(r.Format, v*r.Scale) }
	lasted := float64(now-st.firedAt) / 1000
	switch {
	case bad && r.Format == "":
		a.State, a.Message = "firing", fmt.Sprintf("%s: %s", subject, r.What)
	case bad:
		a.State, a.Message = "firing", fmt.Sprintf("%s: %s %s, %s %s", subject, r.What, fv(value), cmp, fv(r.Threshold))
	case r.Format == "":
		a.State, a.Message = "resolved", fmt.Sprintf("%s: %s over after %.0f s", subject, r.What, lasted)
	default:
		a.State, a.Message = "resolved", fmt.Sprintf("%s: %s back to %s after %.0f s", subject, r.What, fv(value), lasted)
	}
	if bad {
		st.firedAt = now
	}
	return a, true
}

// Forget drops a subject that no longer exists (a removed trunk); a firing
// alert of it resolves.
func (e *Engine) Forget(now int64, kind, subject string) (qoe.Alert, bool) {
	key := kind + "\x00" + subject
	st := e.state[key]
	delete(e.state, key)
	if st == nil || !st.firing {
		return qoe.Alert{}, false
	}
	r := e.rules[kind]
	return qoe.Alert{Node: e.node, At: now, Kind: kind, Subject: subject, State: "resolved", Value: st.lastValue,
		Threshold: r.Threshold, Message: fmt.Sprintf("%s: gone", subject)}, true
}

// Firing counts the alerts firing now, by kind.
func (e *Engine) Firing() map[string]int {
	out := map[string]int{}
	for k := range e.rules {
		out[k] = 0
	}
	for key, st := range e.state {
		if st.firing {
			for i := 0; i < len(key); i++ {
				if key[i] == 0 {
					out[key[:i]]++
					break
				}
			}
		}
	}
	return out
}
