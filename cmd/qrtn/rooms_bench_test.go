package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

// BenchmarkRoomListNetwork: GET /api/rooms on one node of a three-node
// network (access nodes eu, us, ap with direct trunks) holding 1000 rooms,
// a third created on each node (held rooms: records flooded like any).
//
//	go test -run '^$' -bench RoomListNetwork -benchtime 200x ./cmd/qrtn/
func BenchmarkRoomListNetwork(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, _ := parseDemoFlags([]string{"--access", "eu,us,ap", "--forwarding", "0", "--delay", "1ms", "--loss", "0"}, io.Discard)
	spec, _ := f.network()
	net, err := startNetwork(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	tok, _ := signaling.MintAdminToken(net.APIKey, net.APISecret, "bench", time.Hour, time.Now())
	call := func(method, url, body string) (int, []byte) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	time.Sleep(time.Second) // trunks up
	for i := range 1000 {
		n := net.Nodes[i%3]
		if st, out := call("POST", n.URL()+"api/rooms", fmt.Sprintf(`{"name":"room-%04d","empty_timeout":3600}`, i)); st != 201 {
			b.Fatalf("create %d: %d %s", i, st, out)
		}
	}
	target := net.Node("eu-1").URL() + "api/rooms"
	deadline := time.Now().Add(30 * time.Second)
	var size int
	for {
		_, out := call("GET", target, "")
		var l struct {
			Rooms []json.RawMessage `json:"rooms"`
		}
		_ = json.Unmarshal(out, &l)
		if len(l.Rooms) == 1000 {
			size = len(out)
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("eu-1 lists %d rooms", len(l.Rooms))
		}
		time.Sleep(200 * time.Millisecond)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if st, _ := call("GET", target, ""); st != 200 {
			b.Fatal(st)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(size)/1024, "KiB")
}
