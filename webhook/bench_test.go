package webhook

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkOutage measures delivery with the default back-off: events at
// 20/s to a receiver that is up for 5 s, down for QRTN_OUTAGE (default
// 60 s), then up until the backlog drains. It reports the latency from the
// event to its delivery while up, the deepest queue, how long the backlog
// took to drain once the receiver was back, and drops.
//
//	flock /tmp/qrtn-bench.lock go test -run '^$' -bench Outage -benchtime 1x ./webhook/
func BenchmarkOutage(b *testing.B) {
	outage := 60 * time.Second
	if v := os.Getenv("QRTN_OUTAGE"); v != "" {
		outage, _ = time.ParseDuration(v)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	var mu sync.Mutex
	var lat []time.Duration
	var during []time.Duration
	var downAt, upAt time.Time
	var lastAt time.Time
	serve := func(l net.Listener) *http.Server {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var ev Event
			_ = json.Unmarshal(body, &ev)
			now := time.Now()
			d := now.Sub(time.UnixMilli(ev.CreatedAt))
			mu.Lock()
			if time.UnixMilli(ev.CreatedAt).After(downAt) && !downAt.IsZero() && time.UnixMilli(ev.CreatedAt).Before(upAt) {
				during = append(during, d)
			} else {
				lat = append(lat, d)
			}
			lastAt = now
			mu.Unlock()
		})}
		go func() { _ = srv.Serve(l) }()
		return srv
	}
	srv := serve(ln)
	s, err := New(Config{URLs: []string{"http://" + addr + "/"}, Secret: "bench"}, "n", "r", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s.Notify(Event{Event: ParticipantJoined})
			}
		}
	}()
	maxQ := 0
	sample := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			if q := s.Stats()[0].Queued; q > maxQ {
				maxQ = q
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	sample(5 * time.Second)
	_ = srv.Close()
	mu.Lock()
	downAt = time.Now()
	mu.Unlock()
	sample(outage)
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	upAt = time.Now()
	mu.Unlock()
	srv = serve(ln)
	defer srv.Close()
	for s.Stats()[0].Queued > 2 {
		sample(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	drain := lastAt.Sub(upAt)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st := s.Stats()[0]
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "up-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "up-p99-ms")
	b.ReportMetric(float64(maxQ), "max-queued")
	b.ReportMetric(drain.Seconds(), "drain-after-return-s")
	b.ReportMetric(float64(len(during)), "backlog-delivered")
	b.ReportMetric(float64(st.Dropped+st.Expired), "lost")
	b.ReportMetric(float64(st.Failures), "failed-attempts")
	mu.Unlock()
}
