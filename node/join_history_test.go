package node

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/signaling"
)

func TestHistoryFigures(t *testing.T) {
	call := func(s, node, network string, ws, dtls, join int, left int64) qoe.Call {
		return qoe.Call{Session: s, Node: node, Region: "eu", Network: network, WSMs: ws, DTLSMs: dtls, JoinMs: join, LeftAt: left}
	}
	figs := historyFigures([]qoe.Call{
		call("a", "eu-1", "198.51.100.0/24", 50, 300, 600, 9),
		call("b", "eu-1", "198.51.100.0/24", 50, 0, 0, 9), // never got media: a failed join
		call("c", "eu-1", "198.51.100.0/24", 0, 0, 0, 9),  // no join report: stalls only
		call("d", "eu-2", "", 60, 200, 500, 0),
	}, []qoe.Stall{{Session: "a"}, {Session: "a"}, {Session: "d"}})
	net := figs[scheduler.Scope{Prefix: netip.MustParsePrefix("198.51.100.0/24")}]["eu-1"]
	if net.Calls != 3 || net.StallRate != 1.0/3 || net.JoinFailRate != 0.5 {
		t.Errorf("network figures %+v", net)
	}
	reg := figs[scheduler.Scope{Region: "eu"}]
	if reg["eu-1"].Calls != 3 || reg["eu-2"].Calls != 1 || reg["eu-2"].StallRate != 1 || reg["eu-2"].JoinFailRate != 0 {
		t.Errorf("region figures %+v", reg)
	}
}

// TestHistoryFromQualityStore: a call records its client's network, and
// the scheduler's history is read from the quality store in the
// background: calls and stalls written there show up in JoinHistory.
func TestHistoryFromQualityStore(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Config{Name: "solo", Region: "eu", Dev: true, DataDir: dir, SFU: sfuTestConfig(),
		Scheduler: JoinConfig{HistoryEvery: 100 * time.Millisecond}})
	joinWS(t, n, signaling.Grant{Identity: "ann", Room: "r", Subscribe: true}, sfutest.Options{Subscribe: true})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, filepath.Join(dir, "quality.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UnixMilli()
	var recs []qoe.Record
	for i, id := range []string{"h1", "h2", "h3", "h4"} {
		recs = append(recs, qoe.Call{Session: id, Room: "old", Participant: id, Node: "solo", Region: "eu",
			Network: "203.0.113.0/24", JoinedAt: now - 60_000, LeftAt: now - 1000, WSMs: 40, DTLSMs: 300, JoinMs: 700})
		if i < 2 {
			recs = append(recs, qoe.Stall{Session: id, Room: "old", Participant: id, Node: "solo", Kind: "video", At: now - 30_000, DurationMs: 900})
		}
	}
	if err := s.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	scope := scheduler.NetworkOf(netip.MustParseAddr("203.0.113.50"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		q := n.JoinHistory().Quality(scope)["solo"]
		if q.Calls == 4 && q.StallRate == 0.5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history %+v", n.JoinHistory().Quality(scope))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Ann's call, over loopback, carries her network.
	for {
		calls, err := store.Query[qoe.Call](ctx, s, "participant = ?", "ann")
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 1 {
			if calls[0].Network != "127.0.0.0/24" {
				t.Errorf("ann's call network %q", calls[0].Network)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ann's call not recorded: %+v", calls)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
