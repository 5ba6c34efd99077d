package report

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/store"
	"github.com/qrtn/qrtn/qoe/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const t0 int64 = 1_700_000_040_000

// callRecords: ann on eu-1 publishes, bob on us-1 receives her video over
// eu-1 → fwd-1 → us-1. Around t0+20 s the hop fwd-1 → us-1 loses heavily
// and lets media expire, and bob's video stalls; at t0+40 s his own
// downlink loses packets and it stalls again.
func callRecords() []qoe.Record {
	recs := []qoe.Record{
		qoe.Call{Session: "a1", Room: "r", Participant: "ann", Name: "Ann", Node: "eu-1", Region: "eu", JoinedAt: t0, JoinMs: 800},
		qoe.Call{Session: "b1", Room: "r", Participant: "bob", Name: "Bob", Node: "us-1", Region: "us", JoinedAt: t0 + 1000, JoinMs: 900},
		qoe.Call{Session: "x1", Room: "other", Participant: "eve", Node: "us-1", Region: "us", JoinedAt: t0},
		qoe.Route{Node: "us-1", Room: "r", Origin: "eu-1", Track: "TV", Layer: 1, At: t0 + 1500, Path: []string{"eu-1", "fwd-1", "us-1"}},
		qoe.Stall{Session: "b1", Room: "r", Participant: "bob", Publisher: "ann", Track: "TV", Kind: "video", Node: "us-1", At: t0 + 20_000, DurationMs: 1500},
		qoe.Stall{Session: "b1", Room: "r", Participant: "bob", Publisher: "ann", Track: "TV", Kind: "video", Node: "us-1", At: t0 + 40_000, DurationMs: 700},
		qoe.Event{Session: "b1", Room: "r", Participant: "bob", Node: "us-1", At: t0 + 21_000, Kind: "layer", Detail: "ann/TV → small (bandwidth)"},
	}
	for at := t0; at < t0+60_000; at += 2000 {
		for _, hop := range [][2]string{{"eu-1", "fwd-1"}, {"fwd-1", "us-1"}} {
			h := qoe.HopSample{From: hop[0], To: hop[1], Start: at, End: at + 2000, Up: true, RTTMs: 80, Loss: 0.05, SentBytes: 400_000}
			if hop[1] == "us-1" && at >= t0+18_000 && at < t0+22_000 {
				h.Loss, h.Expired = 0.45, 30
			}
			recs = append(recs, h)
		}
		for _, n := range []string{"eu-1", "fwd-1", "us-1"} {
			recs = append(recs, qoe.NodeSample{Node: n, Start: at, End: at + 2000, CPU: 0.3, Cores: 2})
		}
	}
	for at := t0 + 1000; at < t0+60_000; at += 5000 {
		ts := qoe.TrackSample{Session: "b1", Room: "r", Participant: "bob", Publisher: "ann", Track: "TV", Kind: "video", Node: "us-1",
			Start: at, End: at + 5000, Frames: 120, PacketsReceived: 600, RTTMs: 5}
		if at >= t0+36_000 && at < t0+41_000 {
			ts.PacketsLost = 120
		}
		recs = append(recs, ts,
			qoe.PublishSample{Session: "a1", Room: "r", Participant: "ann", Track: "TV", Kind: "video", Node: "eu-1", Start: at, End: at + 5000, Limitation: "none", FPS: 25},
			qoe.UpSample{Node: "eu-1", Room: "r", Participant: "ann", Track: "TV", Kind: "video", Start: at, End: at + 5000, Packets: 600})
	}
	return recs
}

func stores(t *testing.T) map[string]*store.Store {
	out := map[string]*store.Store{}
	for name, dsn := range map[string]string{"sqlite": filepath.Join(t.TempDir(), "q.db"), "postgres": pgtest.NewDB(t)} {
		s, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[name] = s
	}
	return out
}

func TestCallsAttributeStalls(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if err := s.Write(ctx, callRecords()); err != nil {
				t.Fatal(err)
			}
			calls, err := Calls(ctx, s, Filter{Room: "r", From: t0, To: t0 + 120_000}, t0+60_000, attrib.DefaultThresholds)
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != 2 || calls[0].Participant != "ann" || calls[1].Participant != "bob" {
				t.Fatalf("calls %+v", calls)
			}
			bob := calls[1]
			if bob.VideoStalls != 2 || len(bob.Stalls) != 2 || bob.JoinMs != 900 || bob.Compliance >= 1 {
				t.Fatalf("bob %+v", bob)
			}
			if c := bob.Stalls[0].Cause; c.Where != qoe.WhereTrunk || c.Hop != "fwd-1→us-1" {
				t.Errorf("first stall: %+v", c)
			}
			if c := bob.Stalls[1].Cause; c.Where != qoe.WhereDownlink {
				t.Errorf("second stall: %+v", c)
			}
			if len(calls[0].Stalls) != 0 || calls[0].Compliance != 1 {
				t.Errorf("ann %+v", calls[0])
			}
			tl, err := CallTimeline(ctx, s, "b1", t0+60_000, attrib.DefaultThresholds)
			if err != nil {
				t.Fatal(err)
			}
			if tl.Call.Participant != "bob" || len(tl.Events) != 1 || len(tl.Samples) != 12 || len(tl.Routes) != 1 {
				t.Fatalf("timeline: call %+v, %d events, %d samples, %d routes", tl.Call, len(tl.Events), len(tl.Samples), len(tl.Routes))
			}
			if names := tl.HopNames(); len(names) != 2 || len(tl.Hops["fwd-1→us-1"]) < 25 || len(tl.Nodes) != 3 {
				t.Fatalf("hops %v, nodes %d", names, len(tl.Nodes))
			}
			if _, err := CallTimeline(ctx, s, "nope", t0, attrib.DefaultThresholds); err != ErrNoCall {
				t.Fatalf("unknown session: %v", err)
			}
			res, err := SLA(ctx, s, t0, t0+60_000, t0+60_000)
			if err != nil || res.Nodes["us-1"].VideoStalls != 2 || res.RegionPairs["eu→us"].VideoStalls != 2 {
				t.Fatalf("sla %+v, %v", res, err)
			}
		})
	}
}
