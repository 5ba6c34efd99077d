package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
)

func postJSON(t *testing.T, url string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// waitTrunks waits until node url sees want trunks up.
func waitTrunks(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var st trunk.Status
		getJSON(t, url+"api/network", &st)
		up := 0
		for _, tk := range st.Trunks {
			if tk.Up {
				up++
			}
		}
		if up == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d trunks up, want %d", url, up, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDemoControls drives the live controls over HTTP: a trunk's link
// changes in both directions (and bad settings are refused), and a
// forwarding node stops, its peers see its trunks fall, and it starts
// again on the same addresses with its trunks back up.
func TestDemoControls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spec := networkSpec{
		Nodes:  []nodeSpec{{"a", "eu", "access"}, {"b", "us", "access"}, {"f", "backbone", "forwarding"}},
		Trunks: [][2]string{{"a", "f"}, {"b", "f"}},
		Link:   netsim.LinkConfig{Delay: 5 * time.Millisecond},
	}
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	a, f := net.Node("a").URL(), net.Node("f").URL()
	waitTrunks(t, a, 1, 10*time.Second)

	var got LinkSettings
	if code := postJSON(t, a+"api/demo/link", map[string]any{"from": "f", "to": "a", "delay_ms": 30, "loss": 0.2, "burst": 5}, &got); code != 200 {
		t.Fatalf("link: status %d", code)
	}
	if got.DelayMs != 30 || got.Loss < 0.199 || got.Loss > 0.201 || got.Burst < 4.99 || got.Burst > 5.01 {
		t.Fatalf("link settings answered %+v", got)
	}
	lc := net.links[[2]string{"a", "f"}]
	if lc.Delay != 30*time.Millisecond || lc.Loss.Kind != netsim.LossGilbertElliott {
		t.Fatalf("relay a–f now %+v", lc)
	}
	// Only the fields given change.
	if code := postJSON(t, f+"api/demo/link", map[string]any{"from": "a", "to": "f", "loss": 0}, &got); code != 200 || got.DelayMs != 30 || got.Loss != 0 {
		t.Fatalf("partial link change: %d %+v", code, got)
	}
	for _, bad := range []map[string]any{
		{"from": "a", "to": "b", "loss": 0.1},               // no trunk
		{"from": "a", "to": "f", "loss": 1.5},               // loss out of range
		{"from": "a", "to": "f", "loss": 0.6, "burst": 1.2}, // no such chain
		{"from": "a"},
	} {
		var e map[string]string
		if code := postJSON(t, a+"api/demo/link", bad, &e); code/100 != 4 || e["error"] == "" {
			t.Errorf("%v: status %d, %v", bad, code, e)
		}
	}

	// Stop f from a; a's trunk falls. Start it again from b.
	if code := postJSON(t, a+"api/demo/node", map[string]string{"name": "f", "action": "stop"}, nil); code != 200 {
		t.Fatalf("stop: status %d", code)
	}
	if _, err := http.Get(f + "healthz"); err == nil {
		t.Fatal("f still serves after stop")
	}
	waitTrunks(t, a, 0, 15*time.Second)
	var nodes struct{ Nodes []NodeState }
	getJSON(t, a+"api/demo/nodes", &nodes)
	for _, n := range nodes.Nodes {
		if n.Running != (n.Name != "f") {
			t.Errorf("node %+v", n)
		}
	}
	if code := postJSON(t, net.Node("b").URL()+"api/demo/node", map[string]string{"name": "f", "action": "start"}, nil); code != 200 {
		t.Fatalf("start: status %d", code)
	}
	if net.Node("f").URL() != f {
		t.Fatalf("f came back at %s, was %s", net.Node("f").URL(), f)
	}
	waitTrunks(t, a, 1, 15*time.Second)
	waitTrunks(t, f, 2, 15*time.Second)

	// A node can stop itself: it answers before it goes.
	if code := postJSON(t, f+"api/demo/node", map[string]string{"name": "f", "action": "stop"}, nil); code != http.StatusAccepted {
		t.Fatalf("self stop: status %d", code)
	}
	if code := postJSON(t, a+"api/demo/node", map[string]string{"name": "zz", "action": "stop"}, nil); code != 404 {
		t.Fatalf("unknown node: status %d", code)
	}
	if code := postJSON(t, a+"api/demo/node", map[string]string{"name": "f", "action": "reboot"}, nil); code != 400 {
		t.Fatalf("unknown action: status %d", code)
	}
}
