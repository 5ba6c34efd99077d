package store

import (
	"context"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/store/pgtest"
)

// TestWriterPostgresOutage: the database stops while records keep coming.
// Add never blocks; records wait up to the bound, the rest are dropped
// and counted; once the server is back the writer resumes by itself and
// writes every record it kept.
func TestWriterPostgresOutage(t *testing.T) {
	srv := pgtest.Start(t)
	s := openT(t, srv.DSN)
	w := NewWriter(s, WriterConfig{FlushEvery: 20 * time.Millisecond, MaxPending: 300, WriteTimeout: 2 * time.Second}, nil)
	defer w.Close()
	ev := func(i int) qoe.Record { return qoe.Event{Session: "s", Room: "r", At: int64(i), Kind: "k"} }
	for i := range 100 {
		w.Add(ev(i))
	}
	waitFor(t, 20*time.Second, "the first 100 written", func() bool { return w.Stats().Written == 100 })

	srv.Stop(t)
	start := time.Now()
	kept := 0
	for i := 100; i < 600; i++ {
		if w.Add(ev(i)) {
			kept++
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("500 Adds took %v with the database down", d)
	}
	waitFor(t, 20*time.Second, "a failed write", func() bool { return !w.Stats().Healthy })
	st := w.Stats()
	if kept != 300 || st.Dropped != 200 || st.Pending != 300 {
		t.Fatalf("kept %d, stats %+v; want 300 kept and pending, 200 dropped", kept, st)
	}
	t.Logf("while down: %+v", st)

	srv.Start(t)
	waitFor(t, 60*time.Second, "writing to resume", func() bool { st := w.Stats(); return st.Healthy && st.Pending == 0 })
	if st := w.Stats(); st.Written != 400 || st.Dropped != 200 || st.Failures == 0 {
		t.Fatalf("after the outage: %+v", st)
	}
	evs, err := Query[qoe.Event](context.Background(), s, "ORDER BY at_ms")
	if err != nil || len(evs) != 400 || evs[399].At != 399 {
		t.Fatalf("%d events stored, %v", len(evs), err)
	}
}
