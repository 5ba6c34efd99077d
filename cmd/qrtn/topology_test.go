package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/node"
	"github.com/qrtn/qrtn/trunk"
)

// TestExampleTopology starts the four nodes of testdata/topology from their
// YAML files, as `qrtn serve --config` reads them (only the fixed ports are
// swapped for free ones and the key paths made absolute), and checks every
// configured trunk comes up with a 0-RTT handshake.
func TestExampleTopology(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "topology")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) != 4 {
		t.Fatalf("topology files: %v %v", files, err)
	}
	ports := map[string]string{}
	portRE := regexp.MustCompile(`127\.0\.0\.1:(\d+)`)
	tmp := t.TempDir()
	var cfgs []node.Config
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := portRE.ReplaceAllStringFunc(string(b), func(a string) string {
			if ports[a] == "" {
				ports[a] = freeAddr(t, strings.HasSuffix(a, "7880") || strings.HasSuffix(a, "7881") ||
					strings.HasSuffix(a, "7980") || strings.HasSuffix(a, "7981"))
			}
			return ports[a]
		})
		abs, _ := filepath.Abs(filepath.Join(dir, "keys"))
		text = strings.ReplaceAll(text, "testdata/topology/keys", abs)
		p := filepath.Join(tmp, filepath.Base(f))
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfigFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Trunk == nil || len(cfg.Trunk.Peers) < 2 {
			t.Fatalf("%s: no trunk section", f)
		}
		cfgs = append(cfgs, cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var nodes []*node.Node
	for _, cfg := range cfgs {
		n, err := node.New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", cfg.Name, err)
		}
		defer n.Close()
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for {
			var st trunk.Status
			getJSON(t, n.URL()+"api/network", &st)
			ok := len(st.Trunks) > 0 && len(st.Nodes) == 4
			for _, tk := range st.Trunks {
				ok = ok && tk.Up && tk.Handshake == "0rtt"
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: trunks %+v, %d nodes", n.Name(), st.Trunks, len(st.Nodes))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n.Role() == "forwarding" && n.SFU() != nil {
			t.Errorf("forwarding node %s runs an SFU", n.Name())
		}
	}
	// Both access nodes share an API key, so eu-1's scheduler sends a
	// user of us to us-1 with a token that works there.
	for _, n := range nodes {
		if n.Name() != "eu-1" {
			continue
		}
		waitJoin(t, n.URL(), "room=r&name=x&region=us", "us-1", 5*time.Second)
		if _, a := askJoin(t, n.URL(), "room=r&name=x&region=us"); a.Token == "" || a.Node != "us-1" {
			t.Errorf("eu-1 → us-1 without a token: %+v", a)
		}
	}
}

// freeAddr reserves a free loopback port (TCP for HTTP, else UDP).
func freeAddr(t *testing.T, tcp bool) string {
	t.Helper()
	if tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
