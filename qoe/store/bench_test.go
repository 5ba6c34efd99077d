package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/store/pgtest"
)

// benchRecords is a batch shaped like a node's traffic: per participant
// and report interval, four received-track samples, two published-track
// samples and two subscription samples, plus hop and node samples.
func benchRecords(n int, at int64) []qoe.Record {
	recs := make([]qoe.Record, 0, n)
	for i := 0; len(recs) < n; i++ {
		sess := fmt.Sprintf("s%06d", i)
		for k := range 4 {
			recs = append(recs, qoe.TrackSample{Session: sess, Room: "bench", Participant: sess, Publisher: fmt.Sprintf("p%d", k%2),
				Track: fmt.Sprintf("TR_%d", k), Kind: []string{"audio", "video"}[k%2], Node: "n1", Start: at - 5000, End: at,
				Frames: 125, FPS: 25, PacketsReceived: 900, RTTMs: 12, Layer: "large", Width: 1280, Height: 720, JitterBufferMs: 40, E2EMs: 180, E2EEstimate: true})
		}
		recs = append(recs,
			qoe.PublishSample{Session: sess, Room: "bench", Participant: sess, Track: "video", Kind: "video", Node: "n1", Start: at - 5000, End: at, Limitation: "none", FPS: 25, BitrateBps: 1.5e6},
			qoe.PublishSample{Session: sess, Room: "bench", Participant: sess, Track: "audio", Kind: "audio", Node: "n1", Start: at - 5000, End: at, Limitation: "none"},
			qoe.DownSample{Node: "n1", Room: "bench", Participant: sess, Publisher: "p0", Track: "TR_1", Kind: "video", Start: at - 5000, End: at, Layer: "large", NACKs: 3, EstimateBps: 2.5e6},
			qoe.HopSample{From: "n1", To: "f1", Start: at - 2000, End: at, Up: true, RTTMs: 80, Loss: 0.1, FECK: 10, FECM: 2, SentBytes: 1e6},
		)
	}
	return recs[:n]
}

// BenchmarkWrite measures what one database sustains: transactions of
// 1000 records, as the Writer batches them. records/s is the figure.
//
//	go test -run XXX -bench Write -benchtime 20x ./qoe/store/
func BenchmarkWrite(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "bench.db")
			if kind == "postgres" {
				dsn = pgtest.NewDB(b)
			}
			s, err := Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch = 1000
			at := time.Now().UnixMilli()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if err := s.Write(context.Background(), benchRecords(batch, at+int64(i))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "records/s")
			if kind == "sqlite" {
				// What a record costs on disk, indexes included: the file
				// after a checkpoint, less the empty schema's.
				empty := filepath.Join(b.TempDir(), "empty.db")
				e, err := Open(context.Background(), empty)
				if err != nil {
					b.Fatal(err)
				}
				e.Close()
				s.Close()
				full, _ := os.Stat(dsn)
				base, _ := os.Stat(empty)
				b.ReportMetric(float64(full.Size()-base.Size())/float64(b.N*batch), "bytes/record")
			}
		})
	}
}
