package scheduler

import (
	"errors"
	"testing"
)

func TestParseRTTs(t *testing.T) {
	m, err := ParseRTTs("eu-1:12.5,us-1:80")
	if err != nil || len(m) != 2 || m["eu-1"] != 12.5 || m["us-1"] != 80 {
		t.Fatalf("%v %v", m, err)
	}
	if m, err := ParseRTTs(""); err != nil || len(m) != 0 {
		t.Fatalf("empty: %v %v", m, err)
	}
	if got := FormatRTTs(map[string]float64{"us-1": 80, "eu-1": 12.5}); got != "eu-1:12.5,us-1:80" {
		t.Errorf("format %q", got)
	}
	for _, bad := range []string{"eu-1", "eu-1:", ":5", "eu-1:x", "eu-1:-1", "eu-1:NaN", "eu-1:1e9", "a:1,a:2", "eu-1:5,", "a:Inf"} {
		if _, err := ParseRTTs(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCheckRegionAndPolicy(t *testing.T) {
	for _, ok := range []string{"eu", "us-east_1", "ap2"} {
		if err := CheckRegion(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "EU", "eu 1", "eu/1", "<script>", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		if err := CheckRegion(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for in, want := range map[string]Policy{"": Auto, "auto": Auto, "nearest": Nearest, "single": Single} {
		if p, err := ParsePolicy(in); err != nil || p != want {
			t.Errorf("%q: %v %v", in, p, err)
		}
	}
	if _, err := ParsePolicy("round-robin"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("unknown policy: %v", err)
	}
}

// FuzzParseRTTs: no input panics the parser, and what it accepts formats
// back to something that parses the same.
func FuzzParseRTTs(f *testing.F) {
	for _, s := range []string{"eu-1:12.5,us-1:80", "", "a:0", "a:1e3,b:.5", "x:", ",", "a:1,a:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseRTTs(s)
		if err != nil {
			return
		}
		again, err := ParseRTTs(FormatRTTs(m))
		if err != nil || len(again) != len(m) {
			t.Fatalf("%q → %q: %v %v", s, FormatRTTs(m), again, err)
		}
		for k, v := range m {
			if again[k] != v {
				t.Fatalf("%q: %s %v != %v", s, k, again[k], v)
			}
		}
	})
}
