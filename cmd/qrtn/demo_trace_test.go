package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/trunk"
)

// hopSample is what every node's trunks had carried at one moment.
type hopSample struct {
	at    time.Time
	nodes map[string]trunk.Status
}

// traceHops samples every node's /api/network each interval until ctx
// ends and returns the samples; a failing cross-region test logs them with
// hopTimeline, to say which hop media stopped on (or whether key frame
// requests stopped travelling) while a page saw a stall.
func traceHops(ctx context.Context, net *network, interval time.Duration) []hopSample {
	var out []hopSample
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s := hopSample{at: time.Now(), nodes: map[string]trunk.Status{}}
		for _, n := range net.Nodes {
			var st trunk.Status
			if err := getJSONCtx(ctx, n.URL()+"api/network", &st); err == nil {
				s.nodes[n.Name()] = st
			}
		}
		out = append(out, s)
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

func getJSONCtx(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// hopTimeline renders the samples: per trunk direction (sender→peer) the
// media bytes sent and messages expired since the sample before, and per
// node the key frame requests it passed on.
func hopTimeline(samples []hopSample) string {
	if len(samples) == 0 {
		return ""
	}
	type col struct{ node, peer string }
	var cols []col
	var names []string
	for name, st := range samples[0].nodes {
		names = append(names, name)
		for _, tk := range st.Trunks {
			cols = append(cols, col{name, tk.Peer})
		}
	}
	slices.Sort(names)
	slices.SortFunc(cols, func(a, b col) int { return strings.Compare(a.node+"→"+a.peer, b.node+"→"+b.peer) })
	var b strings.Builder
	b.WriteString("     t |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s→%s kB/exp", c.node, c.peer)
	}
	b.WriteString(" | key frame requests")
	for _, n := range names {
		fmt.Fprintf(&b, " %s", n)
	}
	trunkOf := func(s hopSample, c col) trunk.TrunkStatus {
		for _, tk := range s.nodes[c.node].Trunks {
			if tk.Peer == c.peer {
				return tk
			}
		}
		return trunk.TrunkStatus{}
	}
	// A sample some node did not answer (the last one, taken as the test
	// ends, always) is left out: its zeros read as counters gone backwards.
	complete := samples[:0:0]
	for _, s := range samples {
		if len(s.nodes) == len(names) {
			complete = append(complete, s)
		}
	}
	samples = complete
	for i := 1; i < len(samples); i++ {
		s, p := samples[i], samples[i-1]
		fmt.Fprintf(&b, "\n%6.2f |", s.at.Sub(samples[0].at).Seconds())
		for _, c := range cols {
			now, before := trunkOf(s, c), trunkOf(p, c)
			fmt.Fprintf(&b, " %8.1f/%-3d", float64(now.MediaBytesSent-before.MediaBytesSent)/1e3, now.MessagesExpired-before.MessagesExpired)
		}
		b.WriteString(" |")
		for _, n := range names {
			fmt.Fprintf(&b, " %d", s.nodes[n].Keyframes-p.nodes[n].Keyframes)
		}
	}
	return b.String()
}

// TestHopTimelineSkipsUnanswered: a sample a node did not answer (the one
// taken as the test ends) is left out, not read as counters gone back.
func TestHopTimelineSkipsUnanswered(t *testing.T) {
	at := time.Unix(0, 0)
	sample := func(sec int, bytes uint64) hopSample {
		s := hopSample{at: at.Add(time.Duration(sec) * time.Second), nodes: map[string]trunk.Status{}}
		if bytes > 0 {
			s.nodes["a"] = trunk.Status{Trunks: []trunk.TrunkStatus{{Peer: "f", MediaBytesSent: bytes}}}
		}
		return s
	}
	out := hopTimeline([]hopSample{sample(0, 1000), sample(1, 3000), sample(2, 0)})
	if lines := strings.Split(out, "\n"); len(lines) != 2 || !strings.Contains(lines[1], "2.0/0") {
		t.Fatalf("timeline:\n%s", out)
	}
}
