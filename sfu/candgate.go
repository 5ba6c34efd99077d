package sfu

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// candidateGate keeps a connection's ICE candidates behind the description
// they belong to. pion starts gathering at CreateOffer when the offer
// restarts ICE, so the new generation's candidates can be emitted before
// the offer that carries its ufrag; a client applying them to its current
// description rejects them (a browser's addIceCandidate fails with an
// OperationError) or drops them. The subscriber connection closes the gate
// while it makes an offer and opens it once the offer is emitted.
type candidateGate struct {
	emit func(*webrtc.ICECandidateInit)

	mu   sync.Mutex
	hold bool
	held []*webrtc.ICECandidateInit // at most maxPendingCandidates
}

// candidate emits c (nil: end of candidates), or keeps it while closed.
func (g *candidateGate) candidate(c *webrtc.ICECandidateInit) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.hold {
		g.emit(c)
		return
	}
	if len(g.held) < maxPendingCandidates {
		g.held = append(g.held, c)
	}
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
		g.emit(c)
	}
	g.held, g.hold = nil, false
}
