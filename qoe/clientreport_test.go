package qoe

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const goodReport = `{"seq":3,"rtt_ms":12,
 "join":{"token_ms":40,"ws_ms":60,"ice_ms":300,"dtls_ms":340,"first_frame_ms":620},
 "recv":[{"participant":"ann","track":"TR1","kind":"video","frames_decoded":250,"freeze_count":1,"freeze_ms":700,
   "jitter_buffer_ms":40,"packets_lost":3,"packets_received":900,"layer":"large","width":1280,"height":720,
   "series":{"age_ms":[750,500,250,0],"v":[230,236,-1,250]}},
  {"participant":"ann","track":"TR2","kind":"audio","concealed_ms":20,
   "series":{"age_ms":[500,250,0],"v":[1000,1250,1500],"c":[10,10,20]}}],
 "send":[{"track":"TR9","kind":"video","limitation":"cpu","fps":12,"bytes_sent":100000,"fraction_lost":0.01,"rtt_ms":20}]}`

func TestCheck(t *testing.T) {
	var r ClientReport
	if err := json.Unmarshal([]byte(goodReport), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("good report refused: %v", err)
	}
	cases := map[string]string{
		"seq 0":                `{"seq":0}`,
		"negative counter":     `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"video","frames_decoded":-1}]}`,
		"no kind":              `{"seq":1,"recv":[{"participant":"a","track":"t"}]}`,
		"same track twice":     `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"audio"},{"participant":"a","track":"t","kind":"audio"}]}`,
		"series lengths":       `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"video","series":{"age_ms":[1,0],"v":[1]}}]}`,
		"series order":         `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"video","series":{"age_ms":[0,1],"v":[1,2]}}]}`,
		"series too old":       `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"video","series":{"age_ms":[90000],"v":[1]}}]}`,
		"audio without c":      `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"audio","series":{"age_ms":[0],"v":[1]}}]}`,
		"concealed above play": `{"seq":1,"recv":[{"participant":"a","track":"t","kind":"audio","series":{"age_ms":[0],"v":[1],"c":[5]}}]}`,
		"limitation":           `{"seq":1,"send":[{"track":"t","kind":"video","limitation":"bogus"}]}`,
		"fraction over 1":      `{"seq":1,"send":[{"track":"t","kind":"video","fraction_lost":2}]}`,
		"join absurd":          `{"seq":1,"join":{"token_ms":1e9}}`,
		"long id":              `{"seq":1,"recv":[{"participant":"` + strings.Repeat("x", 200) + `","track":"t","kind":"audio"}]}`,
		"rtt":                  `{"seq":1,"rtt_ms":-5}`,
	}
	for name, js := range cases {
		var r ClientReport
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := r.Check(); !errors.Is(err, ErrBadReport) {
			t.Errorf("%s: Check = %v, want ErrBadReport", name, err)
		}
	}
	many := ClientReport{Seq: 1, Recv: make([]RecvTrack, MaxRecvTracks+1)}
	if err := many.Check(); !errors.Is(err, ErrBadReport) {
		t.Errorf("too many tracks: %v", err)
	}
}

// FuzzClientReport: any bytes decode and check without panicking, and a
// report that passes has bounded series.
func FuzzClientReport(f *testing.F) {
	f.Add([]byte(goodReport))
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`{"seq":1,"recv":[{"participant":"a","track":"t","kind":"audio","series":{"age_ms":[0],"v":[1],"c":[1]}}]}`))
	f.Add([]byte(`{"seq":1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r ClientReport
		if json.Unmarshal(b, &r) != nil {
			return
		}
		if r.Check() != nil {
			return
		}
		for _, tr := range r.Recv {
			if len(tr.Series.AgeMs) > MaxSeriesSamples {
				t.Fatal("series over the limit passed")
			}
		}
	})
}
