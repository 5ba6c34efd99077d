package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

func TestServeNoConfigIsADevNode(t *testing.T) {
	cfg, _, err := serveConfig(serveFlags{}, nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Dev || cfg.HTTPAddr != devHTTPAddr || cfg.SFU.UDPAddr != devUDPAddr || cfg.APISecret != "" {
		t.Fatalf("no configuration gave %+v", cfg)
	}
}

func TestServeConfigLayers(t *testing.T) {
	env := map[string]string{"QRTN_HTTP_ADDR": "127.0.0.1:9", "QRTN_API_SECRET": "from-env-secret-123", "QRTN_NAT_IPS": "198.51.100.1,198.51.100.2"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f := serveFlags{config: "../../testdata/node.yaml", http: "127.0.0.1:10", region: "x"}
	cfg, level, err := serveConfig(f, map[string]bool{"http": true}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.Name != "fra1" || cfg.Region != "eu-central": // file; --region was not set
		t.Errorf("identity %s %s", cfg.Name, cfg.Region)
	case cfg.HTTPAddr != "127.0.0.1:10": // flag over env over file
		t.Errorf("http %s", cfg.HTTPAddr)
	case cfg.APISecret != "from-env-secret-123" || cfg.APIKey != "APIexample": // env over file
		t.Errorf("key %s secret %s", cfg.APIKey, cfg.APISecret)
	case cfg.Dev:
		t.Error("a configured node must not default to dev mode")
	case len(cfg.SFU.NAT) != 2 || cfg.SFU.NAT[1].External[1] != "198.51.100.2":
		t.Errorf("nat %+v", cfg.SFU.NAT)
	case cfg.SFU.FlexFECMedia != 10 || cfg.SFU.DynacastPauseAfter != 3*time.Second || len(cfg.SFU.ICEServers) != 2:
		t.Errorf("sfu %+v", cfg.SFU)
	case cfg.Signaling.RateBurst != 200 || cfg.Signaling.JoinTimeout != 10*time.Second:
		t.Errorf("signaling %+v", cfg.Signaling)
	case cfg.Scheduler.Capacity != 500 || cfg.Scheduler.Lat != 50.11 || len(cfg.Scheduler.Scheduler.Networks) != 1 ||
		cfg.Scheduler.Scheduler.Networks[0].Prefix.Bits() != 8 || cfg.Scheduler.Scheduler.StaleAfter != 2500*time.Millisecond:
		t.Errorf("scheduler %+v", cfg.Scheduler)
	case level.String() != "INFO":
		t.Errorf("level %v", level)
	}
}

func TestServeRejectsUnknownKeys(t *testing.T) {
	path := t.TempDir() + "/bad.yaml"
	if err := writeFile(path, "htp_addr: 1\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfigFile(path); err == nil {
		t.Fatal("typo in a key accepted")
	}
}

// TestServeRuns starts `qrtn serve` on free ports, reads the contract line,
// checks the node answers, and stops it as SIGTERM would.
func TestServeRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--log-level", "warn"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^node dev region=local role=access http=(http://127\.0\.0\.1:\d+/)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("line %q", line)
	}
	resp, err := http.Get(m[1] + "api/token?room=r&name=n")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("dev token endpoint: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestTokenCommand(t *testing.T) {
	var out, errb strings.Builder
	err := runToken(context.Background(), []string{"--room", "r", "--identity", "i", "--publish", "--api-key", "k", "--api-secret", "a-long-enough-secret"}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := signaling.NewVerifier("k", "a-long-enough-secret")
	g, err := v.Verify(strings.TrimSpace(out.String()), time.Now())
	if err != nil || !g.Publish || g.Subscribe || g.Room != "r" || g.Identity != "i" {
		t.Fatalf("%+v %v", g, err)
	}
	if err := runToken(context.Background(), []string{"--room", "r"}, &out, &errb); err == nil {
		t.Fatal("token without identity")
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
