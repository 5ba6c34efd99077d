package perf

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
)

func startServer(t *testing.T) *Server {
	t.Helper()
	key, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Listen(ctx, ServerConfig{Addr: "127.0.0.1:0", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		s.Close()
		<-done
	})
	return s
}

func startRelay(t *testing.T, upstream string, link netsim.LinkConfig) *udprelay.Relay {
	t.Helper()
	r, err := udprelay.New(context.Background(), udprelay.Config{
		Listen: "127.0.0.1:0", Upstream: upstream, Up: link, Down: link, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func run(t *testing.T, cfg ClientConfig) *Result {
	t.Helper()
	var intervals int
	cfg.Interval = 250 * time.Millisecond
	cfg.OnInterval = func(Interval) { intervals++ }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if intervals == 0 {
		t.Error("no interval reported")
	}
	js, _ := json.Marshal(r)
	t.Logf("%s", js)
	return r
}

// TestBulkThroughRelay measures a bulk test through a relay with delay,
// loss and a rate limit: the goodput is the server's count, below the
// link rate and the send rate, and the loss shows as retransmissions.
func TestBulkThroughRelay(t *testing.T) {
	srv := startServer(t)
	relay := startRelay(t, srv.Addr().String(), netsim.LinkConfig{
		Rate: 40e6, QueueBytes: 100_000, Delay: 10 * time.Millisecond, Loss: netsim.Bernoulli(0.02),
	})
	key := srv.PublicKey()
	r := run(t, ClientConfig{Addr: relay.Addr().String(), ServerKey: &key, Duration: 2 * time.Second})
	if r.Handshake != "0rtt" || r.MeasuredBy != "server" || r.Direction != "client->server" {
		t.Errorf("handshake %q measured by %q direction %q", r.Handshake, r.MeasuredBy, r.Direction)
	}
	// The rates cover slightly different windows (the receiver's starts
	// with the first byte), hence the margin over the send rate.
	if r.GoodputMbit <= 0 || r.GoodputMbit > 40 || r.GoodputMbit > 1.2*r.SentMbit {
		t.Errorf("goodput %.2f Mbit/s through a 40 Mbit/s link, sent %.2f", r.GoodputMbit, r.SentMbit)
	}
	// Acknowledged counts what waits behind a hole too, so it is at least
	// the in-order goodput (the windows differ a little).
	if r.AckedMbit <= 0 || r.AckedMbit < 0.9*r.GoodputMbit || r.AckedMbit > 40 {
		t.Errorf("acknowledged %.2f Mbit/s, goodput %.2f, through a 40 Mbit/s link", r.AckedMbit, r.GoodputMbit)
	}
	if r.RetransmitRatio <= 0 || r.LossRatio <= 0 {
		t.Errorf("2%% loss shows no retransmission (%v) or loss (%v)", r.RetransmitRatio, r.LossRatio)
	}
	if r.RTTMinMS < 20 || r.RTTAvgMS < r.RTTMinMS {
		t.Errorf("rtt min %.2f ms avg %.2f ms over a 2×10 ms path", r.RTTMinMS, r.RTTAvgMS)
	}
	if r.MediaResult != nil {
		t.Error("bulk result holds media figures")
	}
}

// TestMediaThroughRelay sends 1500 kbit/s at 25 fps through delay and
// loss: frames arrive, one-way latency is at least the path delay, and
// every media figure is present in the JSON.
func TestMediaThroughRelay(t *testing.T) {
	srv := startServer(t)
	relay := startRelay(t, srv.Addr().String(), netsim.LinkConfig{
		Delay: 20 * time.Millisecond, Loss: netsim.Bernoulli(0.05),
	})
	key := srv.PublicKey()
	r := run(t, ClientConfig{Addr: relay.Addr().String(), ServerKey: &key, Duration: 2 * time.Second,
		Mode: ModeMedia, Bitrate: 1.5e6, FPS: 25})
	if r.FramesSent < 40 || r.FramesSent > 60 {
		t.Errorf("sent %d frames in 2 s at 25 fps", r.FramesSent)
	}
	if r.FramesDelivered < r.FramesSent*8/10 {
		t.Errorf("delivered %d of %d frames at 5%% loss", r.FramesDelivered, r.FramesSent)
	}
	if r.LatencyP50MS < 20 || r.LatencyP50MS > r.LatencyP95MS || r.LatencyP95MS > r.LatencyP99MS {
		t.Errorf("latency p50 %.1f p95 %.1f p99 %.1f ms over a 20 ms path", r.LatencyP50MS, r.LatencyP95MS, r.LatencyP99MS)
	}
	var late int64
	for _, n := range r.LateBySecond {
		late += n
	}
	if late != r.FramesLate400 || len(r.LateBySecond) < 2 || len(r.LateBySecond) > 3 || r.FramesLost > r.FramesLate400 {
		t.Errorf("late by second %v (%d late, %d lost) in a 2 s run", r.LateBySecond, r.FramesLate400, r.FramesLost)
	}
	if runtime.GOOS == "linux" && (r.ClientSched == nil || r.ServerSched == nil || r.ClientSched.CPUMS <= 0 || r.ServerSched.CPUMS <= 0) {
		t.Errorf("no scheduling figures: client %+v server %+v", r.ClientSched, r.ServerSched)
	}
	if r.FrameBytes != 7500 || r.DeadlineMS != 300 {
		t.Errorf("frame %d bytes, deadline %v ms; want 7500 and the meeting profile's 300", r.FrameBytes, r.DeadlineMS)
	}
	js, _ := json.Marshal(r)
	for _, k := range []string{"goodput_mbit", "sent_mbit", "retransmit_ratio", "fec_ratio", "rtt_min_ms", "rtt_avg_ms",
		"frames_sent", "frames_delivered", "frames_late_400ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "stalls_600ms",
		"frames_lost", "client_sched", "server_sched"} {
		if !strings.Contains(string(js), `"`+k+`":`) {
			t.Errorf("JSON lacks %s: %s", k, js)
		}
	}
}

// TestReverse runs both modes server → client without the server's key:
// the client learns it (1-RTT) and measures goodput itself.
func TestReverse(t *testing.T) {
	srv := startServer(t)
	for _, mode := range []string{ModeBulk, ModeMedia} {
		t.Run(mode, func(t *testing.T) {
			r := run(t, ClientConfig{Addr: srv.Addr().String(), Duration: time.Second, Reverse: true,
				Mode: mode, Bitrate: 1e6, FPS: 50})
			if r.Handshake != "1rtt-learned-key" || r.MeasuredBy != "client" || r.Direction != "server->client" {
				t.Errorf("handshake %q measured by %q direction %q", r.Handshake, r.MeasuredBy, r.Direction)
			}
			if r.GoodputMbit <= 0 || r.BytesReceived <= 0 || r.SentMbit <= 0 {
				t.Errorf("goodput %.2f Mbit/s from %d bytes, sent %.2f", r.GoodputMbit, r.BytesReceived, r.SentMbit)
			}
			if mode == ModeMedia && (r.FramesDelivered == 0 || r.FramesSent < r.FramesDelivered) {
				t.Errorf("delivered %d of %d frames", r.FramesDelivered, r.FramesSent)
			}
		})
	}
}

func TestUnknownController(t *testing.T) {
	_, err := Run(context.Background(), ClientConfig{Addr: "127.0.0.1:1", Duration: time.Second, CC: "bogus"})
	if err == nil || !strings.Contains(err.Error(), strings.Join(cc.Names(), ", ")) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown controller: %v", err)
	}
}

func TestPercentilesAndStalls(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if p := pct(lat, 0.5); p != 50*time.Millisecond {
		t.Errorf("p50 %v", p)
	}
	if p := pct(lat, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 %v", p)
	}
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	arrivals := []time.Time{at(0), at(40), at(700), at(740)}
	if n := countStalls(arrivals, at(780)); n != 1 {
		t.Errorf("%d stalls, want 1 (the 660 ms gap)", n)
	}
	if n := countStalls(arrivals, at(1400)); n != 2 {
		t.Errorf("%d stalls, want 2 (and the silent end)", n)
	}
}

// TestGoroutinesStop: a finished test and a closed server leave no
// goroutine behind.
func TestGoroutinesStop(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Run("test", func(t *testing.T) {
		srv := startServer(t)
		key := srv.PublicKey()
		run(t, ClientConfig{Addr: srv.Addr().String(), ServerKey: &key, Duration: 600 * time.Millisecond})
	})
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
