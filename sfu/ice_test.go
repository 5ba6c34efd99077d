package sfu

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCandidatesTCPAndNAT: with ICE-TCP on and a NAT rule, the SFU's
// candidates include a passive TCP candidate and the rewritten public
// address instead of the local one.
func TestCandidatesTCPAndNAT(t *testing.T) {
	s := newTestSFU(t, func(c *Config) {
		c.TCPAddr = "127.0.0.1:0"
		c.NAT = []NATRule{{External: []string{"203.0.113.7"}, Type: "host", Mode: "replace"}}
	})
	defer s.Close()
	if s.TCPAddr() == nil {
		t.Fatal("no ICE-TCP listener")
	}
	var mu sync.Mutex
	var cands []string
	p, err := s.Join("ice", "", ParticipantParams{ID: "a", CanPublish: true, OnEvent: func(e Event) {
		if c, ok := e.(Candidate); ok && c.Candidate != nil {
			mu.Lock()
			cands = append(cands, c.Candidate.Candidate)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.HandleOffer(cannedOffer(t)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		all := strings.Join(cands, "\n")
		mu.Unlock()
		if strings.Contains(all, "tcptype passive") && strings.Contains(all, "203.0.113.7") {
			if strings.Contains(all, " 127.0.0.1 ") {
				t.Fatalf("local address advertised despite the replace rule:\n%s", all)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("candidates lack TCP or the NAT address:\n%s", strings.Join(cands, "\n"))
}

// TestJoinedCarriesICEServers: clients get the configured STUN/TURN servers.
func TestJoinedCarriesICEServers(t *testing.T) {
	ice := []ICEServer{{URLs: []string{"turn:turn.example:3478"}, Username: "u", Credential: "c"}}
	s := newTestSFU(t, func(c *Config) { c.ICEServers = ice })
	defer s.Close()
	got := make(chan Joined, 1)
	p, err := s.Join("j", "live", ParticipantParams{ID: "a", OnEvent: func(e Event) {
		if j, ok := e.(Joined); ok {
			got <- j
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	j := <-got
	if len(j.ICEServers) != 1 || j.ICEServers[0].Credential != "c" || j.Mode != "live" || j.Room != "j" {
		t.Fatalf("joined %+v", j)
	}
}
