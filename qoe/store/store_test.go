package store

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/store/pgtest"
)

// both runs a test against a fresh SQLite file and a fresh PostgreSQL
// database: the same queries must behave the same on both.
func both(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, openT(t, filepath.Join(t.TempDir(), "q.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, openT(t, pgtest.NewDB(t)))
	})
}

func openT(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func sample() []qoe.Record {
	return []qoe.Record{
		qoe.Call{Session: "s1", Room: "r", Participant: "ann", Name: "Ann", Node: "eu-1", Region: "eu", JoinedAt: 1000, JoinMs: 700, TokenMs: 40, WSMs: 60, ICEMs: 300, DTLSMs: 350, FirstFrameMs: 700},
		qoe.TrackSample{Session: "s1", Room: "r", Participant: "ann", Publisher: "bob", Track: "T1", Kind: "video", Node: "eu-1", Start: 1000, End: 6000,
			Frames: 120, FPS: 24.5, Freezes: 1, FreezeMs: 700, JitterBufferMs: 45.5, PacketsLost: 3, PacketsReceived: 900, RTTMs: 12.5, Layer: "large",
			Width: 1280, Height: 720, ConcealedMs: 0, E2EMs: 230.5, E2EEstimate: true},
		qoe.PublishSample{Session: "s1", Room: "r", Participant: "ann", Track: "T9", Kind: "video", Node: "eu-1", Start: 1000, End: 6000, Limitation: "cpu", FPS: 12, BitrateBps: 1.2e6, FractionLost: 0.01, RTTMs: 20},
		qoe.Stall{Session: "s1", Room: "r", Participant: "ann", Publisher: "bob", Track: "T1", Kind: "video", Node: "eu-1", At: 3000, DurationMs: 800},
		qoe.DownSample{Node: "eu-1", Room: "r", Participant: "ann", Publisher: "bob", Track: "T1", Kind: "video", Start: 1000, End: 6000, Layer: "large", PLIs: 2, NACKs: 30, EstimateBps: 2.5e6, Loss: 0.02, AckLagMs: 1200, RTTMs: 45},
		qoe.UpSample{Node: "eu-1", Room: "r", Participant: "ann", Track: "T9", Kind: "video", Start: 1000, End: 6000, BitrateBps: 1.6e6, Layers: 2, Packets: 700},
		qoe.HopSample{From: "eu-1", To: "fwd-1", Start: 1000, End: 3000, Up: true, RTTMs: 160, Loss: 0.1, PTOs: 2, FECK: 10, FECM: 3, Rebuilt: 40, RetxBytes: 5000,
			SentBytes: 900000, MediaBytes: 800000, FECBytes: 90000, Expired: 2, MediaDrops: 1, BitrateBps: 3.6e6, BandwidthBp: 50e6},
		qoe.Route{Node: "us-1", Room: "r", Origin: "eu-1", Track: "T9", Layer: 1, At: 1500, Path: []string{"eu-1", "fwd-1", "us-1"}},
		qoe.NodeSample{Node: "eu-1", Region: "eu", Start: 1000, End: 3000, CPU: 0.7, Cores: 2, Drops: 3},
		qoe.Event{Session: "s1", Room: "r", Participant: "ann", Node: "eu-1", At: 2000, Kind: "layer", Detail: "bob/T1 large → small (bandwidth)"},
		qoe.Alert{Node: "eu-1", At: 2500, Kind: "link_loss", Subject: "eu-1→fwd-1", State: "firing", Value: 0.3, Threshold: 0.2, Message: "loss 30%"},
	}
}

// readAll reads one record of each type back, in sample()'s order.
func readAll(t *testing.T, s *Store) []qoe.Record {
	t.Helper()
	ctx := context.Background()
	var out []qoe.Record
	add := func(recs any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		v := reflect.ValueOf(recs)
		for i := range v.Len() {
			out = append(out, v.Index(i).Interface().(qoe.Record))
		}
	}
	add(Query[qoe.Call](ctx, s, "room = ?", "r"))
	add(Query[qoe.TrackSample](ctx, s, "room = ? AND end_ms >= ?", "r", 0))
	add(Query[qoe.PublishSample](ctx, s, ""))
	add(Query[qoe.Stall](ctx, s, "ORDER BY at_ms"))
	add(Query[qoe.DownSample](ctx, s, ""))
	add(Query[qoe.UpSample](ctx, s, ""))
	add(Query[qoe.HopSample](ctx, s, "from_node = ? AND to_node = ?", "eu-1", "fwd-1"))
	add(Query[qoe.Route](ctx, s, "track = ?", "T9"))
	add(Query[qoe.NodeSample](ctx, s, ""))
	add(Query[qoe.Event](ctx, s, ""))
	add(Query[qoe.Alert](ctx, s, ""))
	return out
}

func TestStore(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if v, err := s.SchemaVersion(ctx); err != nil || v != Version() {
			t.Fatalf("schema version %d, %v; want %d", v, err, Version())
		}
		want := sample()
		if err := s.Write(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
		}
		// A call is written again as it changes: the last write wins,
		// also twice in one batch.
		c := want[0].(qoe.Call)
		c.LeftAt, c.Name = 9000, "Ann B."
		c2 := c
		c2.JoinMs = 650
		if err := s.Write(ctx, []qoe.Record{c, c2}); err != nil {
			t.Fatal(err)
		}
		calls, err := Query[qoe.Call](ctx, s, "")
		if err != nil || len(calls) != 1 || calls[0] != c2 {
			t.Fatalf("calls after update: %+v, %v", calls, err)
		}
		rooms, err := s.Rooms(ctx, 0, 10_000, 10)
		if err != nil || len(rooms) != 1 || rooms[0] != (RoomSummary{Room: "r", Calls: 1, Participants: 1, First: 1000, Last: 1000}) {
			t.Fatalf("rooms %+v, %v", rooms, err)
		}
		// Many rows in one batch cross the per-INSERT row limit.
		var many []qoe.Record
		for i := range 3*rowsPerInsert + 7 {
			many = append(many, qoe.HopSample{From: "a", To: "b", Start: int64(i), End: int64(i + 1)})
		}
		if err := s.Write(ctx, many); err != nil {
			t.Fatal(err)
		}
		hops, err := Query[qoe.HopSample](ctx, s, "from_node = ? ORDER BY end_ms DESC LIMIT 5", "a")
		if err != nil || len(hops) != 5 || hops[0].End != int64(3*rowsPerInsert+7) {
			t.Fatalf("hops %d %+v, %v", len(hops), hops, err)
		}
		// Retention: everything before 2600 goes, the ended call too.
		if _, err := s.Prune(ctx, 9500); err != nil {
			t.Fatal(err)
		}
		n, err := s.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for table, rows := range n {
			if rows != 0 {
				t.Errorf("after prune %s has %d rows", table, rows)
			}
		}
		// Opening again migrates nothing and keeps working.
		s2 := openT(t, s.where)
		if err := s2.Write(ctx, sample()[:1]); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStoreBadInput: a condition with a syntax error is an error, not a
// panic; a newer schema refuses to open.
func TestStoreBadInput(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	s := openT(t, path)
	if _, err := Query[qoe.Call](ctx, s, "room = = ?", "x"); err == nil {
		t.Fatal("bad SQL accepted")
	}
	if _, err := s.db.Exec("UPDATE schema_version SET version = 999"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer schema: %v", err)
	}
	if d, _, _ := ParseDSN("postgres://u:secret@h/db"); d != Postgres || redact("postgres://u:secret@h/db") != "postgres://u:***@h/db" {
		t.Fatal("dsn")
	}
}

func TestWriter(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		w := NewWriter(s, WriterConfig{FlushEvery: 20 * time.Millisecond, MaxBatch: 100}, nil)
		for i := range 1000 {
			if !w.Add(qoe.Event{Session: "s", Room: "r", At: int64(i), Kind: "k"}) {
				t.Fatal("dropped with room to spare")
			}
		}
		waitFor(t, 20*time.Second, "1000 written", func() bool { return w.Stats().Written == 1000 })
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		evs, err := Query[qoe.Event](context.Background(), s, "ORDER BY at_ms")
		if err != nil || len(evs) != 1000 || evs[999].At != 999 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	})
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMigrateFromV1: a database written by the first schema opens, is
// migrated to the current version, and keeps its records.
func TestMigrateFromV1(t *testing.T) {
	both(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		// Rebuild the database as version 1 left it.
		for _, tbl := range append(tableNames(s), "schema_version") {
			if _, err := s.db.ExecContext(ctx, "DROP TABLE "+tbl); err != nil {
				t.Fatal(err)
			}
		}
		for _, stmt := range strings.Split(migrations[0], ";") {
			if strings.TrimSpace(stmt) != "" {
				if _, err := s.db.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, q := range []string{"CREATE TABLE schema_version (version INTEGER NOT NULL)", "INSERT INTO schema_version (version) VALUES (1)",
			`INSERT INTO calls (session_id, room, participant, name, node, region, joined_at, left_at, token_ms, ws_ms, ice_ms, dtls_ms, first_frame_ms, join_ms)
			 VALUES ('old', 'r', 'ann', 'Ann', 'eu-1', 'eu', 1000, 0, 0, 0, 0, 0, 0, 700)`} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s2 := openT(t, s.where)
		if v, err := s2.SchemaVersion(ctx); err != nil || v != Version() {
			t.Fatalf("migrated to %d, %v; want %d", v, err, Version())
		}
		calls, err := Query[qoe.Call](ctx, s2, "session_id = ?", "old")
		if err != nil || len(calls) != 1 || calls[0].JoinMs != 700 || calls[0].Network != "" {
			t.Fatalf("old call after migration: %+v, %v", calls, err)
		}
		if err := s2.Write(ctx, sample()); err != nil {
			t.Fatal(err)
		}
	})
}

func tableNames(s *Store) []string {
	var out []string
	for _, t := range s.tables {
		out = append(out, t.name)
	}
	return out
}
