package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestCandidateGateDropsOldGenerations: once told the ufrag of the offer
// out, the gate drops candidates of another ufrag (held or not), lets
// ufrag-less ones and the end of candidates through, and reports each end.
func TestCandidateGateDropsOldGenerations(t *testing.T) {
	var out []string
	ends := 0
	g := &candidateGate{
		emit: func(c *webrtc.ICECandidateInit) {
			if c == nil {
				out = append(out, "end")
				return
			}
			out = append(out, c.Candidate)
		},
		ended: func() { ends++ },
	}
	cand := func(ufrag string) *webrtc.ICECandidateInit {
		line := "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"
		if ufrag != "" {
			line += " ufrag " + ufrag
		}
		return &webrtc.ICECandidateInit{Candidate: line}
	}
	g.candidate(cand("old")) // no offer known yet: all pass
	g.close()
	g.candidate(cand("old"))
	g.candidate(cand("new"))
	g.expect("new")
	g.open()
	g.candidate(cand("old"))
	g.candidate(cand(""))
	g.candidate(nil)
	want := []string{
		cand("old").Candidate, cand("new").Candidate, cand("").Candidate, "end",
	}
	if len(out) != len(want) {
		t.Fatalf("emitted %q, want %q", out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("emitted %q, want %q", out, want)
		}
	}
	if ends != 1 {
		t.Errorf("ended ran %d times, want 1", ends)
	}
}
