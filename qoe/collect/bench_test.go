package collect

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qoe"
)

// benchReport is what a browser in a four-person meeting sends every 5 s:
// six received tracks (three video, three audio) with 20-sample series,
// and two published tracks.
func benchReport(seq int) []byte {
	r := qoe.ClientReport{Seq: seq}
	for p := range 3 {
		for _, kind := range []string{"video", "audio"} {
			t := qoe.RecvTrack{Participant: fmt.Sprintf("participant-%d", p), Track: fmt.Sprintf("TR_%s%d", kind, p), Kind: kind,
				FramesDecoded: float64(125 * seq), PacketsReceived: float64(900 * seq), JitterBufferMs: 40, Layer: "large", Width: 1280, Height: 720}
			for i := range 20 {
				t.Series.AgeMs = append(t.Series.AgeMs, float64(250*(19-i)))
				if kind == "video" {
					t.Series.V = append(t.Series.V, float64(125*(seq-1)+6*i))
				} else {
					t.Series.V = append(t.Series.V, float64(5000*(seq-1)+250*i))
					t.Series.C = append(t.Series.C, 0)
				}
			}
			r.Recv = append(r.Recv, t)
		}
	}
	r.Send = []qoe.SendTrack{{Track: "video", Kind: "video", Limitation: "none", FPS: 25, BytesSent: 1e6}, {Track: "audio", Kind: "audio", Limitation: "none"}}
	b, _ := json.Marshal(map[string]any{"type": "quality", "report": r})
	return b
}

// BenchmarkReport is the node's work for one client report: decoding the
// message, checking it, and turning it into records and stalls. Times
// 60 reports/s is what 300 participants reporting every 5 s cost a node
// (docs/quality.md).
//
//	go test -run XXX -bench Report ./qoe/collect/
func BenchmarkReport(b *testing.B) {
	msgs := make([][]byte, 16)
	for i := range msgs {
		msgs[i] = benchReport(i + 1)
	}
	b.SetBytes(int64(len(msgs[0])))
	var s *Session
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		if i%len(msgs) == 0 {
			s = NewSession(qoe.Call{Session: "s", Room: "r", Participant: "me", Node: "n", JoinedAt: 0})
		}
		var m struct {
			Type   string          `json:"type"`
			Report json.RawMessage `json:"report"`
		}
		if err := json.Unmarshal(msgs[i%len(msgs)], &m); err != nil {
			b.Fatal(err)
		}
		var r qoe.ClientReport
		if err := json.Unmarshal(m.Report, &r); err != nil {
			b.Fatal(err)
		}
		if err := r.Check(); err != nil {
			b.Fatal(err)
		}
		out := s.Report(int64(5000*(i%len(msgs)+1)), &r, nil)
		if len(out.Records) < 8 {
			b.Fatal("records missing")
		}
	}
	// CPU time, not wall time: on a shared machine the two differ widely.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/report")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
