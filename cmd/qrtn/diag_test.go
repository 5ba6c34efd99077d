package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// logRing keeps the last records a test network logged (debug level and
// up, without the congestion controllers' chatter), so that a browser test
// that fails can show what the nodes said before it failed.
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

const logRingLines = 4000

func newLogRing() *logRing { return &logRing{lines: make([]string, logRingLines)} }

// logger returns a logger that records into the ring.
func (l *logRing) logger() *slog.Logger {
	return slog.New(&ringHandler{l: l, opts: &slog.HandlerOptions{Level: slog.LevelDebug}})
}

func (l *logRing) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[l.next] = line
	l.next = (l.next + 1) % len(l.lines)
	if l.next == 0 {
		l.full = true
	}
}

// dump writes the ring, oldest first, to the test's log.
func (l *logRing) dump(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	if l.full {
		out = append(out, l.lines[l.next:]...)
	}
	out = append(out, l.lines[:l.next]...)
	t.Logf("the network's last %d log lines:", len(out))
	for _, s := range out {
		t.Log(s)
	}
}

// ringHandler formats each record with slog's text handler into the ring.
type ringHandler struct {
	l      *logRing
	opts   *slog.HandlerOptions
	attrs  []slog.Attr
	groups []string
}

func (h *ringHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelDebug }

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "qbbr:") || strings.HasPrefix(r.Message, "bbr1:") {
		return nil
	}
	var b bytes.Buffer
	var th slog.Handler = slog.NewTextHandler(&b, h.opts)
	if len(h.attrs) > 0 {
		th = th.WithAttrs(h.attrs)
	}
	for _, g := range h.groups {
		th = th.WithGroup(g)
	}
	if err := th.Handle(ctx, r); err != nil {
		return err
	}
	h.l.add(strings.TrimSpace(b.String()))
	return nil
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.groups = append(append([]string(nil), h.groups...), name)
	return &c
}

// pageStateJS describes what a demo page knows of a room: its remote
// participants and their tracks, the subscriber connection's transceivers
// (mid, direction, the track announced on it) and the packets each inbound
// RTP stream received.
const pageStateJS = `(async () => {
	const s = window.qrtn?.session;
	if (!s) return null;
	const out = {self: s.self?.id, state: s.state, participants: [], mids: [], inbound: []};
	for (const [id, p] of s.participants) {
		out.participants.push({id, name: p.name, tracks: [...(p.tracks?.keys() ?? [])]});
	}
	for (const [mid, m] of s._mids) out.mids.push({mid, ...m});
	if (s._sub) {
		out.transceivers = s._sub.getTransceivers().map((t) => ({mid: t.mid, direction: t.direction,
			current: t.currentDirection, kind: t.receiver.track?.kind}));
		const st = await s._sub.getStats();
		st.forEach((r) => {
			if (r.type === 'inbound-rtp') out.inbound.push({mid: r.mid, kind: r.kind, ssrc: r.ssrc, packets: r.packetsReceived});
		});
	}
	return out;
})()`

// dumpOnFailure registers a cleanup that, when t failed, logs everything
// needed to tell why a participant's media did not arrive: each page's
// stats and room state, each node's SFU snapshot of room and the trunk's
// view of it (room records from every node, wants, subscriptions, flows,
// mirrors), then the network's last log lines. Register it after the
// pages are open, so that it runs before they close.
func dumpOnFailure(t *testing.T, net *network, room string, logs *logRing, pages map[string]*browsertest.Page) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		js := func(v any) string {
			b, err := json.Marshal(v)
			if err != nil {
				return err.Error()
			}
			return string(b)
		}
		for who, p := range pages {
			s, err := p.Stats(ctx)
			t.Logf("dump: %s stats %s (err %v)", who, js(s), err)
			var state any
			err = p.Eval(ctx, pageStateJS, &state)
			t.Logf("dump: %s page %s (err %v)", who, js(state), err)
		}
		for _, ns := range net.NodeStates() {
			n := net.Node(ns.Name)
			if n == nil || !ns.Running {
				t.Logf("dump: node %s not running", ns.Name)
				continue
			}
			if s := n.SFU(); s != nil {
				t.Logf("dump: node %s sfu stats %s", ns.Name, js(s.Stats()))
				for _, r := range s.Snapshot() {
					if r.Name == room {
						t.Logf("dump: node %s sfu %s", ns.Name, js(r))
					}
				}
			}
			if tr := n.Trunk(); tr != nil {
				d, err := tr.DebugRoom(ctx, room)
				t.Logf("dump: node %s trunk %s (err %v)", ns.Name, js(d), err)
			}
		}
		if logs != nil {
			logs.dump(t)
		}
	})
}
