package sfu

import (
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// candidateGate keeps a connection's ICE candidates behind the description
// they belong to. pion starts gathering at CreateOffer when the offer
// restarts ICE, so the new generation's candidates can be emitted before
// the offer that carries its ufrag; a client applying them to its current
// description rejects them (a browser's addIceCandidate fails with an
// OperationError) or drops them. The subscriber connection closes the gate
// while it makes an offer and opens it once the offer is emitted. Once told
// the ufrag of the offer out (expect), the gate also drops candidates of an
// older generation that pion delivers late.
type candidateGate struct {
	emit  func(*webrtc.ICECandidateInit)
	ended func() // if set, runs after each end of candidates (outside mu)

	mu    sync.Mutex
	hold  bool
	held  []*webrtc.ICECandidateInit // at most maxPendingCandidates
	ufrag string                     // of the last offer out; "" lets all through
}

// candidate emits c (nil: end of candidates), or keeps it while closed.
func (g *candidateGate) candidate(c *webrtc.ICECandidateInit) {
	g.pass(c)
	if c == nil && g.ended != nil {
		g.ended()
	}
}

func (g *candidateGate) pass(c *webrtc.ICECandidateInit) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.hold {
		g.emitCurrent(c)
		return
	}
	if len(g.held) < maxPendingCandidates {
		g.held = append(g.held, c)
	}
}

// expect sets the ufrag of the offer about to go out.
func (g *candidateGate) expect(ufrag string) {
	g.mu.Lock()
	g.ufrag = ufrag
	g.mu.Unlock()
}

// emitCurrent emits c unless it carries another ufrag than the last offer's.
func (g *candidateGate) emitCurrent(c *webrtc.ICECandidateInit) {
	if c != nil && g.ufrag != "" {
		if u := candidateUfrag(c.Candidate); u != "" && u != g.ufrag {
			return
		}
	}
	g.emit(c)
}

// candidateUfrag is the ufrag extension of a candidate line ("" if none).
func candidateUfrag(line string) string {
	c, err := ice.UnmarshalCandidate(strings.TrimPrefix(line, "candidate:"))
	if err != nil {
		return ""
	}
	if e, ok := c.GetExtension("ufrag"); ok {
		return e.Value
	}
	return ""
}

// close keeps candidates until open.
func (g *candidateGate) close() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

// open emits the candidates kept, in order, and lets later ones through.
func (g *candidateGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.held {
		g.emitCurrent(c)
	}
	g.held, g.hold = nil, false
}
