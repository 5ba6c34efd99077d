package node

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

func testLogger() *slog.Logger {
	if os.Getenv("NODE_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNodeHTTPEndpoints(t *testing.T) {
	n := startNode(t, Config{})
	if code, body := get(t, n.URL()+"healthz"); code != 200 || body != "ok" {
		t.Fatalf("healthz %d %q", code, body)
	}
	if code, _ := get(t, n.URL()+"api/token?room=r&name=n"); code != 404 {
		t.Fatalf("token endpoint outside dev mode: %d", code)
	}
	if code, body := get(t, n.URL()); code != 200 || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("demo page %d", code)
	}
	code, body := get(t, n.URL()+"metrics")
	for _, m := range []string{"qrtn_rooms 0", "qrtn_participants 0", "qrtn_forwarded_bytes_total 0", "qrtn_plis_total", "qrtn_nacks_total", "qrtn_layer_switches_total", "qrtn_stray_packets_total 0", "qrtn_dd_parse_errors_total 0", "qrtn_publisher_rtx_total 0", "go_goroutines"} {
		if code != 200 || !strings.Contains(body, m) {
			t.Fatalf("metrics lack %q:\n%s", m, body)
		}
	}
	if !strings.HasPrefix(n.Line(), "node dev region=local role=access http=http://127.0.0.1:") || !strings.HasSuffix(n.Line(), "/") {
		t.Fatalf("line %q", n.Line())
	}
}

// TestDebugEndpoints: the profiler and the room snapshot are served only
// when configured.
func TestDebugEndpoints(t *testing.T) {
	off := startNode(t, Config{})
	if code, body := get(t, off.URL()+"debug/pprof/"); code == 200 && strings.Contains(body, "goroutine") {
		t.Fatal("pprof served without debug")
	}
	if code, body := get(t, off.URL()+"debug/rooms"); code == 200 && strings.HasPrefix(body, "[") {
		t.Fatal("rooms served without debug")
	}
	on := startNode(t, Config{Debug: true, SFU: sfuTestConfig()})
	if code, body := get(t, on.URL()+"debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index %d", code)
	}
	if _, err := on.SFU().Join("dbg", "", sfu.ParticipantParams{ID: "ann", CanSubscribe: true, OnEvent: func(sfu.Event) {}}); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, on.URL()+"debug/rooms")
	var rooms []sfu.RoomSnapshot
	if err := json.Unmarshal([]byte(body), &rooms); code != 200 || err != nil {
		t.Fatalf("rooms %d %v: %s", code, err, body)
	}
	if len(rooms) != 1 || rooms[0].Name != "dbg" || len(rooms[0].Participants) != 1 || rooms[0].Participants[0].ID != "ann" {
		t.Fatalf("rooms %+v", rooms)
	}
}

func TestDevTokenJoins(t *testing.T) {
	n := startNode(t, Config{Dev: true})
	code, body := get(t, n.URL()+"api/token?room=demo&name=Ann&role=viewer")
	if code != 200 {
		t.Fatalf("token %d %s", code, body)
	}
	var tok struct{ Token, Identity string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token body %q", body)
	}
	ws := dialWS(t, n)
	_ = ws.WriteJSON(map[string]any{"type": "join", "token": tok.Token, "room": "demo"})
	var m map[string]any
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.ReadJSON(&m); err != nil || m["type"] != "joined" {
		t.Fatalf("%v %v", m, err)
	}
	p := m["participant"].(map[string]any)
	if p["name"] != "Ann" || p["publish"] != false || p["subscribe"] != true || p["id"] != tok.Identity {
		t.Fatalf("viewer joined as %v", p)
	}
	if code, _ := get(t, n.URL()+"api/token?room=demo&role=admin"); code != 400 {
		t.Fatalf("bad role accepted: %d", code)
	}
}

func dialWS(t *testing.T, n *Node) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+n.HTTPAddr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// wsPeer is a synthetic pion client speaking PROTOCOL.md over a websocket.
type wsPeer struct {
	t   *testing.T
	ws  *websocket.Conn
	c   *sfutest.Client
	wmu sync.Mutex

	mu     sync.Mutex
	msgs   []map[string]any
	closed chan struct{}
	gone   atomic.Bool // the client is being closed: late offers may fail
}

func joinWS(t *testing.T, n *Node, g signaling.Grant, opts sfutest.Options) *wsPeer {
	t.Helper()
	tok, err := n.MintToken(g, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &wsPeer{t: t, ws: dialWS(t, n), closed: make(chan struct{})}
	if p.c, err = sfutest.New(opts, p.send); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.gone.Store(true)
		_ = p.c.Close()
	})
	p.write(map[string]any{"type": "join", "token": tok})
	go p.read()
	p.wait("joined", func(m map[string]any) bool { return m["type"] == "joined" })
	if len(opts.Layers) > 0 || opts.Audio {
		if err := p.c.Publish(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *wsPeer) write(v any) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.WriteJSON(v)
}

func (p *wsPeer) send(o sfutest.Out) {
	switch o.Type {
	case "offer", "answer":
		p.write(map[string]any{"type": o.Type, "target": o.Target, "sdp": o.SDP})
	case "candidate":
		p.write(map[string]any{"type": "candidate", "target": o.Target, "candidate": o.Candidate})
	}
}

func (p *wsPeer) read() {
	defer close(p.closed)
	for {
		var m map[string]any
		if err := p.ws.ReadJSON(&m); err != nil {
			return
		}
		switch m["type"] {
		case "answer":
			if err := p.c.HandleAnswer(m["sdp"].(string)); err != nil && !p.gone.Load() {
				p.t.Errorf("answer: %v", err)
			}
		case "offer":
			if err := p.c.HandleOffer(m["sdp"].(string)); err != nil && !p.gone.Load() {
				p.t.Errorf("offer: %v", err)
			}
		case "candidate":
			if c, ok := m["candidate"].(map[string]any); ok {
				b, _ := json.Marshal(c)
				var init webrtc.ICECandidateInit
				_ = json.Unmarshal(b, &init)
				_ = p.c.HandleCandidate(m["target"].(string), &init)
			}
		case "publish_layers":
			want := map[string]bool{}
			for _, l := range m["layers"].([]any) {
				want[l.(string)] = true
			}
			for _, rid := range []string{"s", "m", "l"} {
				p.c.SetPaused(rid, !want[rid])
			}
		}
		p.mu.Lock()
		p.msgs = append(p.msgs, m)
		p.mu.Unlock()
	}
}

func (p *wsPeer) wait(what string, f func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, m := range p.msgs {
			if f(m) {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("no %s message", what)
	return nil
}

func (p *wsPeer) waitRecv(what string, f func(sfutest.TrackStats) bool) sfutest.TrackStats {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range p.c.Received() {
			if f(s) {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("never received %s: %+v", what, p.c.Received())
	return sfutest.TrackStats{}
}

// TestEndToEndOverWebsocket: a pion publisher (simulcast VP8 + Opus) and a
// pion subscriber join a node through the real signaling protocol; the
// subscriber receives both tracks, is told its layer, switches to the
// small layer when it sends prefer, and the node's metrics count it.
func TestEndToEndOverWebsocket(t *testing.T) {
	n := startNode(t, Config{SFU: sfuTestConfig()})
	pub := joinWS(t, n, signaling.Grant{Identity: "alice", Room: "e2e", Publish: true, Subscribe: true},
		sfutest.Options{Layers: []string{"s", "l"}, Audio: true, RED: true, AudioLevel: 10})
	sub := joinWS(t, n, signaling.Grant{Identity: "bob", Room: "e2e", Subscribe: true}, sfutest.Options{Subscribe: true})

	sub.wait("alice's video announced", func(m map[string]any) bool {
		switch m["type"] {
		case "track_published":
			return m["participant"] == "alice" && m["track"].(map[string]any)["kind"] == "video"
		case "joined":
			for _, p := range m["participants"].([]any) {
				for _, tr := range p.(map[string]any)["tracks"].([]any) {
					if tr.(map[string]any)["kind"] == "video" {
						return true
					}
				}
			}
		}
		return false
	})
	sub.waitRecv("audio", func(s sfutest.TrackStats) bool { return s.Kind == "audio" && s.Packets > 10 })
	sub.waitRecv("large video", func(s sfutest.TrackStats) bool { return s.Kind == "video" && s.Layers[1] > 20 })
	sub.wait("layer large", func(m map[string]any) bool { return m["type"] == "layer" && m["layer"] == "large" })

	sub.write(map[string]any{"type": "prefer", "participant": "alice", "layer": "small"})
	sub.wait("layer small", func(m map[string]any) bool {
		return m["type"] == "layer" && m["layer"] == "small" && m["participant"] == "alice"
	})
	v := sub.waitRecv("small video", func(s sfutest.TrackStats) bool { return s.Kind == "video" && s.LastLayer == 0 && s.Layers[0] > 20 })
	if v.SeqGaps != 0 || v.PicGaps != 0 || v.Participant != "alice" {
		t.Errorf("video after the switch: %+v", v)
	}
	pub.wait("publish_layers without l", func(m map[string]any) bool {
		l, _ := m["layers"].([]any)
		return m["type"] == "publish_layers" && len(l) == 1 && l[0] == "s"
	})

	pub.write(map[string]any{"type": "mute", "kind": "audio", "muted": true})
	sub.wait("track_muted", func(m map[string]any) bool {
		return m["type"] == "track_muted" && m["muted"] == true && m["kind"] == "audio"
	})

	_, body := get(t, n.URL()+"metrics")
	for _, want := range []string{"qrtn_rooms 1", "qrtn_participants 2", "qrtn_tracks 2", "qrtn_downtracks 2", "qrtn_signaling_connections 2"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, counter := range []string{"qrtn_forwarded_bytes_total", "qrtn_plis_total", "qrtn_layer_switches_total"} {
		if strings.Contains(body, counter+" 0\n") {
			t.Errorf("%s is zero", counter)
		}
	}

	pub.write(map[string]any{"type": "leave"})
	<-pub.closed
	sub.wait("participant_left", func(m map[string]any) bool { return m["type"] == "participant_left" && m["participant"] == "alice" })
}

// TestGracefulClose: Close tells connected clients the node is going away,
// frees everything and leaves no goroutine behind.
func TestGracefulClose(t *testing.T) {
	before := runtime.NumGoroutine()
	n, err := New(Config{SFU: sfuTestConfig()}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub := joinWS(t, n, signaling.Grant{Identity: "alice", Room: "c", Publish: true, Subscribe: true},
		sfutest.Options{Layers: []string{"s", "l"}, Audio: true, Subscribe: true})
	sub := joinWS(t, n, signaling.Grant{Identity: "bob", Room: "c", Subscribe: true}, sfutest.Options{Subscribe: true})
	sub.waitRecv("video", func(s sfutest.TrackStats) bool { return s.Kind == "video" && s.Packets > 10 })
	// From here the server is shutting down: a renegotiation it started as
	// participants left may meet a client connection already closing.
	pub.gone.Store(true)
	sub.gone.Store(true)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*wsPeer{pub, sub} {
		select {
		case <-p.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("client not disconnected by Close")
		}
		p.gone.Store(true)
		_ = p.c.Close()
		_ = p.ws.Close()
	}
	if _, err := http.Get(n.URL() + "healthz"); err == nil {
		t.Fatal("still serving after Close")
	}
	http.DefaultClient.CloseIdleConnections()
	for i := 0; i < 200 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before\n%s", g, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestTwoNodesInOneProcess: nothing is global; two nodes pick their own
// ports and count their own metrics.
func TestTwoNodesInOneProcess(t *testing.T) {
	a := startNode(t, Config{Name: "a", Region: "eu", SFU: sfuTestConfig()})
	b := startNode(t, Config{Name: "b", Region: "us", SFU: sfuTestConfig()})
	if a.HTTPAddr() == b.HTTPAddr() || a.SFU().UDPAddr().String() == b.SFU().UDPAddr().String() {
		t.Fatal("nodes share a port")
	}
	joinWS(t, a, signaling.Grant{Identity: "x", Room: "r", Subscribe: true}, sfutest.Options{Subscribe: true})
	_, ma := get(t, a.URL()+"metrics")
	_, mb := get(t, b.URL()+"metrics")
	if !strings.Contains(ma, "qrtn_participants 1\n") || !strings.Contains(mb, "qrtn_participants 0\n") {
		t.Fatal("metrics not per node")
	}
	if !strings.Contains(b.Line(), "node b region=us role=access") {
		t.Fatalf("line %q", b.Line())
	}
}
