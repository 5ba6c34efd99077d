package collect

import (
	"testing"

	"github.com/qrtn/qrtn/qoe"
)

const t0 = 1_700_000_040_000

func videoTrack(frames float64, series ...float64) qoe.RecvTrack {
	s := qoe.Series{}
	for i, v := range series {
		s.AgeMs = append(s.AgeMs, float64(250*(len(series)-1-i)))
		s.V = append(s.V, v)
	}
	return qoe.RecvTrack{Participant: "ann", Track: "T1", Kind: "video", FramesDecoded: frames, PacketsReceived: frames * 3,
		JitterBufferMs: 40, Layer: "large", Width: 640, Height: 360, Series: s}
}

// TestSession: reports become samples (deltas of the cumulative
// counters), a freeze across two reports becomes one stall, the join time
// is taken once, an estimate fills the latency, the end closes the call.
func TestSession(t *testing.T) {
	s := NewSession(qoe.Call{Session: "s1", Room: "r", Participant: "bob", Node: "us-1", Region: "us", JoinedAt: t0})
	if out := s.Start(); len(out.Records) != 1 {
		t.Fatalf("start: %+v", out)
	}
	est := func(pub, track string, jb, rtt float64) (string, float64) { return "eu", 100 + jb + rtt/2 }
	rtt := 10.0
	r1 := &qoe.ClientReport{Seq: 1, RTT: &rtt, Join: &qoe.JoinTimings{TokenMs: 30, WSMs: 50, ICEMs: 200, DTLSMs: 250, FirstFrameMs: 600},
		Recv: []qoe.RecvTrack{videoTrack(100, 90, 95, 100, 100, 100)},
		Send: []qoe.SendTrack{{Track: "T9", Kind: "audio", BytesSent: 10_000}}}
	out := s.Report(t0+5000, r1, est)
	if out.JoinMs != 600 || s.Call().JoinMs != 600 || len(out.Stalls) != 0 {
		t.Fatalf("first report: join %d, stalls %v", out.JoinMs, out.Stalls)
	}
	var ts qoe.TrackSample
	for _, r := range out.Records {
		if x, ok := r.(qoe.TrackSample); ok {
			ts = x
		}
	}
	if ts.Frames != 100 || ts.Start != t0+5000-1000 || ts.E2EMs != 145 || !ts.E2EEstimate || ts.RTTMs != 10 {
		t.Fatalf("first sample %+v", ts)
	}
	// The freeze goes on into the second report and ends there: 100 at
	// ages 500, 250 of report 1 and 1000..250 of report 2, then 106.
	r2 := &qoe.ClientReport{Seq: 2, Join: r1.Join, Recv: []qoe.RecvTrack{videoTrack(112, 100, 100, 100, 100, 106, 112)},
		Send: []qoe.SendTrack{{Track: "T9", Kind: "audio", BytesSent: 20_000}}}
	out = s.Report(t0+6500, r2, est)
	if out.JoinMs != 0 || len(out.Stalls) != 1 {
		t.Fatalf("second report: join %d, stalls %+v", out.JoinMs, out.Stalls)
	}
	st := out.Stalls[0]
	// Progress last seen in the step ending t0+4500 (mid 4375), next in
	// the step ending t0+6250 (mid 6125): 1750 ms.
	if st.At != t0+4375 || st.DurationMs != 1750 || st.Publisher != "ann" || st.Session != "s1" || st.Kind != "video" {
		t.Fatalf("stall %+v", st)
	}
	for _, r := range out.Records {
		switch x := r.(type) {
		case qoe.TrackSample:
			if x.Frames != 12 || x.Start != t0+5000 || x.End != t0+6500 {
				t.Fatalf("second sample %+v", x)
			}
		case qoe.PublishSample:
			if x.BitrateBps != 10_000*8000/1500.0 {
				t.Fatalf("publish %+v", x)
			}
		}
	}
	// The track disappears; the session ends after two minutes.
	s.Report(t0+8000, &qoe.ClientReport{Seq: 3}, est)
	out = s.End(t0 + 2*60_000 + 100)
	if c := out.Records[len(out.Records)-1].(qoe.Call); c.LeftAt != t0+2*60_000+100 {
		t.Fatalf("end: %+v", c)
	}
	if out.Minutes != 3 || out.StalledMinutes != 1 {
		t.Fatalf("end minutes %d stalled %d", out.Minutes, out.StalledMinutes)
	}
}
