package sla

import (
	"reflect"
	"testing"
)

// video builds a video series sampled every step ms from t0: frames[i] is
// the cumulative count at sample i (-1: off).
func video(t0, step int64, frames ...float64) []Point {
	out := make([]Point, len(frames))
	for i, f := range frames {
		out[i] = Point{At: t0 + int64(i)*step, V: f, Off: f < 0}
	}
	return out
}

// audio builds an audio series sampled every step ms: conc[i] is the ms
// concealed in step i (the step before sample i), -1 for a step that
// played nothing.
func audio(t0, step int64, conc ...float64) []Point {
	out := []Point{{At: t0}}
	var v, c float64
	for i, x := range conc {
		if x >= 0 {
			v += float64(step)
			c += x
		}
		out = append(out, Point{At: t0 + int64(i+1)*step, V: v, C: c})
	}
	return out
}

func detect(kind string, pts []Point, flush bool) []Stall {
	d := NewDetector(kind)
	var got []Stall
	for _, p := range pts {
		if s, ok := d.Feed(p); ok {
			got = append(got, s)
		}
	}
	if flush {
		if s, ok := d.Flush(); ok {
			got = append(got, s)
		}
	}
	return got
}

func TestDetector(t *testing.T) {
	cases := []struct {
		name  string
		kind  string
		pts   []Point
		flush bool
		want  []Stall
	}{
		{"video steady 25 fps", "video", video(0, 250, 0, 6, 12, 18, 25, 31, 37), false, nil},
		{"video one still step is no stall", "video", video(0, 250, 0, 6, 12, 12, 18, 25), false, nil},
		// Progress at steps ending 500 (mid 375) and 1250 (mid 1125): 750 ms.
		{"video two still steps are a 750 ms stall", "video", video(0, 250, 0, 6, 12, 12, 12, 13, 19),
			false, []Stall{{At: 375, DurationMs: 750}}},
		{"video 2 s freeze", "video", video(1000, 250, 10, 16, 16, 16, 16, 16, 16, 16, 16, 17, 23),
			false, []Stall{{At: 1125, DurationMs: 2000}}},
		{"video before the first frame is join time, not a stall", "video", video(0, 250, 0, 0, 0, 0, 0, 0, 1, 7, 13), false, nil},
		{"video muted in between breaks the series", "video", video(0, 250, 0, 6, 12, -1, -1, -1, -1, 12, 18, 24), false, nil},
		{"video counter reset (new receiver) restarts", "video", video(0, 250, 100, 106, 0, 0, 0, 0, 0, 5, 11), false, nil},
		{"video freeze still running at the end is not counted", "video", video(0, 250, 0, 6, 12, 12, 12, 12, 12, 12), true, nil},
		{"two video stalls", "video", video(0, 200, 0, 5, 5, 5, 5, 10, 15, 15, 15, 15, 15, 20),
			false, []Stall{{At: 100, DurationMs: 800}, {At: 1100, DurationMs: 1000}}},

		{"audio clean", "audio", audio(0, 250, 0, 0, 5, 0, 0), false, nil},
		{"audio 150 ms concealed is no stall", "audio", audio(0, 250, 0, 150, 0, 0), false, nil},
		{"audio 250 ms concealed is a stall", "audio", audio(0, 250, 0, 250, 0, 0), false, []Stall{{At: 250, DurationMs: 250}}},
		{"audio run over steps", "audio", audio(0, 250, 0, 130, 250, 200, 10), false, []Stall{{At: 250, DurationMs: 580}}},
		{"audio scattered concealment is no stall", "audio", audio(0, 250, 100, 20, 100, 20, 100, 20), false, nil},
		{"audio stall still running counts at flush", "audio", audio(0, 250, 0, 250, 250), true, []Stall{{At: 250, DurationMs: 500}}},
		{"audio nothing played breaks a run", "audio", audio(0, 250, 0, 120, -1, 120, 0), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := detect(c.kind, c.pts, c.flush)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDetectorAcrossReports: the series is fed report by report; a stall
// spanning two reports is found once.
func TestDetectorAcrossReports(t *testing.T) {
	pts := video(0, 250, 0, 6, 12, 12, 12, 12, 12, 18, 24)
	d := NewDetector("video")
	var got []Stall
	for _, part := range [][]Point{pts[:4], pts[4:]} {
		for _, p := range part {
			if s, ok := d.Feed(p); ok {
				got = append(got, s)
			}
		}
	}
	if want := []Stall{{At: 375, DurationMs: 1250}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestPercentile(t *testing.T) {
	vs := []float64{5, 1, 4, 2, 3}
	for q, want := range map[float64]float64{0: 1, 0.5: 3, 0.95: 5, 1: 5} {
		if got := Percentile(vs, q); got != want {
			t.Errorf("q=%v: %v, want %v", q, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("empty")
	}
}
