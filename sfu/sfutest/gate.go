package sfutest

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// candidateGate keeps a connection's local candidates from overtaking the
// description they belong to, as in a browser: it fires icecandidate only
// after setLocalDescription, and the page sends the SDP before them. pion
// gathers earlier: at CreateOffer when it restarts ICE, and inside
// SetRemoteDescription when an offer restarts it. A candidate sent before
// its SDP carries a username fragment the node does not know yet, so the
// node drops it; if the node's own early candidates are dropped here too,
// neither side has an address to check and the restarted connection
// never comes up.
type candidateGate struct {
	target string
	send   func(Out)

	mu   sync.Mutex
	hold bool
	held []webrtc.ICECandidateInit
}

// candidate sends a gathered candidate, or keeps it while a description is
// being made.
func (g *candidateGate) candidate(ic webrtc.ICECandidateInit) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold {
		g.held = append(g.held, ic)
		return
	}
	g.send(Out{Type: "candidate", Target: g.target, Candidate: &ic})
}

// close holds candidates until open: call it before the pion call that may
// start gathering.
func (g *candidateGate) close() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

// open sends the candidates held, in order, once the description went out
// (or failed), and lets later ones through.
func (g *candidateGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.held {
		g.send(Out{Type: "candidate", Target: g.target, Candidate: &g.held[i]})
	}
	g.held, g.hold = nil, false
}
