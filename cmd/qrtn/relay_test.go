package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{
		"0": 0, "100mbit": 100e6, "1.5Mbps": 1.5e6, "800kbit": 800e3, "2g": 2e9, "64000": 64000, "10mbit/s": 10e6,
	} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1mbit", "mbit"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q) accepted", bad)
		}
	}
}

func TestParseQueue(t *testing.T) {
	tests := []struct {
		in   string
		rate float64
		rtt  time.Duration
		want int
	}{
		{"1bdp", 100e6, 40 * time.Millisecond, 500000},
		{"0.5bdp", 100e6, 40 * time.Millisecond, 250000},
		{"1bdp", 1e6, time.Millisecond, 15000}, // floor
		{"64k", 1e6, 0, 65536},
		{"150000", 1e6, 0, 150000},
		{"1bdp", 0, time.Second, 0}, // no rate, no queue
	}
	for _, tc := range tests {
		if got, err := parseQueue(tc.in, tc.rate, tc.rtt); err != nil || got != tc.want {
			t.Errorf("parseQueue(%q, %v, %v) = %v, %v; want %v", tc.in, tc.rate, tc.rtt, got, err, tc.want)
		}
	}
	if _, err := parseQueue("xbdp", 1e6, time.Second); err == nil {
		t.Error("xbdp accepted")
	}
}

func TestRelayFlagsBuildLink(t *testing.T) {
	var errb bytes.Buffer
	f, err := parseRelayFlags([]string{"--listen", "127.0.0.1:1", "--to", "127.0.0.1:2",
		"--loss", "20%", "--loss-model", "ge", "--burst", "4", "--placement", "after",
		"--rate", "10mbit", "--queue", "1bdp", "--delay", "25ms"}, &errb)
	if err != nil {
		t.Fatal(err, errb.String())
	}
	cfg, err := f.linkConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Loss.Kind != netsim.LossGilbertElliott || cfg.Loss.GE.R != 0.25 || cfg.Placement != netsim.LossAfterBottleneck {
		t.Fatalf("loss %+v placement %v", cfg.Loss, cfg.Placement)
	}
	if m := cfg.Loss.MeanLoss(); m < 0.199 || m > 0.201 {
		t.Fatalf("mean loss %v", m)
	}
	if cfg.Rate != 10e6 || cfg.QueueBytes != 62500 || cfg.Delay != 25*time.Millisecond {
		t.Fatalf("rate %v queue %v delay %v", cfg.Rate, cfg.QueueBytes, cfg.Delay)
	}
	if _, err := parseRelayFlags([]string{"--listen", "x"}, &errb); err == nil {
		t.Fatal("missing --to accepted")
	}
	if got := percentLoss([]string{"--loss=5%", "--loss", "50%", "--delay", "5%"}); strings.Join(got, " ") != "--loss=0.05 --loss 0.5 --delay 5%" {
		t.Fatalf("percentLoss: %v", got)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRelayCommandForwardsAndStops(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			echo.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	// The relay picks its own port and prints it: a port reserved and
	// released first can be taken by another process on a busy machine
	// (once, a 16 µs "round trip" came from someone else's echo).
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runRelay(ctx, []string{"--listen", "127.0.0.1:0", "--to", echo.LocalAddr().String(),
			"--delay", "10ms", "--stats-every", "20ms"}, &out, &errb)
	}()
	listen := ""
	re := regexp.MustCompile(`^relay (\S+) ->`)
	for deadline := time.Now().Add(5 * time.Second); listen == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			listen = m[1]
		}
	}
	if listen == "" {
		t.Fatalf("the relay printed no address: %q", out.String())
	}
	c, err := net.Dial("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	var rtt time.Duration
	for try := 0; try < 50 && rtt == 0; try++ { // the relay may not be bound yet
		start := time.Now()
		c.Write([]byte("hello"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "hello" {
			rtt = time.Since(start)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if rtt < 20*time.Millisecond {
		t.Fatalf("echo through a 10 ms relay: rtt %v", rtt)
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("relay did not stop on cancel")
	}
	if s := out.String(); !strings.Contains(s, "stats up: sent=") || !strings.Contains(s, "clients=1") {
		t.Fatalf("output lacks a stats line:\n%s", s)
	}
}
