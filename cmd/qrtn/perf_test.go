package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
	"github.com/qrtn/qrtn/qrtp/udp"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPerfServer runs `qrtn perf --server` and returns the client line
// it printed (address and key).
func startPerfServer(t *testing.T, extra ...string) (addr, key string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runPerf(ctx, append([]string{"--server", "--listen", "127.0.0.1:0"}, extra...), out, out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	re := regexp.MustCompile(`qrtn perf --client (\S+) --server-key (\S+)`)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], m[2]
		}
	}
	t.Fatalf("the server printed no client line:\n%s", out.String())
	return "", ""
}

// TestPerfThroughRelay runs the command's client against its server
// through an impairing relay and checks the JSON contract.
func TestPerfThroughRelay(t *testing.T) {
	addr, key := startPerfServer(t)
	relay, err := udprelay.New(context.Background(), udprelay.Config{
		Listen: "127.0.0.1:0", Upstream: addr, Seed: 1,
		Up:   netsim.LinkConfig{Delay: 5 * time.Millisecond, Loss: netsim.Bernoulli(0.01)},
		Down: netsim.LinkConfig{Delay: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var out, errb bytes.Buffer
	args := []string{"perf", "--client", relay.Addr().String(), "--server-key", key,
		"--time", "1500ms", "--interval", "500ms", "--mode", "media", "--bitrate", "2m", "--fps", "30", "--json"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	text := out.String()
	if !strings.Contains(text, "0-RTT handshake") || !strings.Contains(text, "goodput") {
		t.Errorf("output lacks the handshake or interval lines:\n%s", text)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, text)
	}
	for _, k := range []string{"goodput_mbit", "sent_mbit", "retransmit_ratio", "fec_ratio", "rtt_min_ms", "rtt_avg_ms",
		"frames_sent", "frames_delivered", "frames_late_400ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "stalls_600ms"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, lines[len(lines)-1])
		}
	}
	if rtt, _ := res["rtt_min_ms"].(float64); rtt < 10 {
		t.Errorf("rtt_min_ms %v through a relay adding 2×5 ms", rtt)
	}
}

// TestPerfLearnsKey: without --server-key the client says it learned the
// key in one more round trip, and how to avoid it.
func TestPerfLearnsKey(t *testing.T) {
	addr, key := startPerfServer(t)
	var out, errb bytes.Buffer
	if code := run([]string{"perf", "--client", addr, "--time", "300ms", "--interval", "100ms"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "1-RTT handshake, learned the server's key "+key) ||
		!strings.Contains(out.String(), "--server-key "+key) {
		t.Errorf("output does not say the key was learned:\n%s", out.String())
	}
}

func TestPerfErrors(t *testing.T) {
	closed, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	nowhere := closed.LocalAddr().String()
	closed.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no role", []string{"perf"}, "say --server, or --client ADDR"},
		{"both roles", []string{"perf", "--server", "--client", "x:1"}, "say --server, or --client ADDR"},
		{"unknown cc", []string{"perf", "--client", nowhere, "--cc", "bogus"}, `unknown congestion controller "bogus" (known: ` + strings.Join(cc.Names(), ", ") + ")"},
		{"bad key", []string{"perf", "--client", nowhere, "--server-key", "nope"}, "copy the key the server printed"},
		{"bad mode", []string{"perf", "--client", nowhere, "--mode", "fast"}, `unknown mode "fast"`},
		{"no server", []string{"perf", "--client", nowhere, "--connect-timeout", "300ms"}, "no server at " + nowhere + ": is `qrtn perf --server` running there?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.want)
			}
		})
	}
}

func TestPerfHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"perf", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--server-key", "0-RTT", "frames_late_400ms", "--reverse", "receiving application"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestPerfAgainstTrunkPort: a QRTP endpoint that admits only its
// configured peers (as a node's trunk port does) answers the key request
// but not the Init. Without --server-key the client must say that it
// answered, not "no server at".
func TestPerfAgainstTrunkPort(t *testing.T) {
	key, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr, err := udp.Listen(ctx, "127.0.0.1:0", qrtp.Config{Key: key, Authorize: func(handshake.PublicKey) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var out, errb bytes.Buffer
	addr := tr.Addr().String()
	if code := run([]string{"perf", "--client", addr, "--connect-timeout", "700ms"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1: %s%s", code, out.String(), errb.String())
	}
	msg := errb.String()
	if strings.Contains(msg, "no server at") || !strings.Contains(msg, "answered but did not accept this client") ||
		!strings.Contains(msg, "trunk port") || !strings.Contains(msg, key.Public.String()) {
		t.Errorf("stderr %q does not say that %s answered with key %s but refused the client", msg, addr, key.Public)
	}
}
