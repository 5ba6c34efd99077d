package sfu

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// ICE restarts. A browser restarts ICE when its network changes or a
// connection goes disconnected or failed: on the publisher connection it
// simply offers with new ICE credentials, and pion restarts its agent when
// it applies that offer (handleOffer). The subscriber connection is offered
// by the SFU, so the client asks, and the SFU's next offer restarts ICE.
// The request rides the subscriber's one-offer-at-a-time negotiation: made
// while an offer is outstanding, it is folded into the next offer, sent
// when the answer arrives, exactly as track changes are (no glare).
//
// A subscriber restart also waits for the gathering of the generation it
// replaces to end (its end-of-candidates has gone to the client). pion/ice
// v4.4.2's gathering goroutines read the agent's ufrag without its lock
// (gatherCandidatesLocalUDPMux) while Agent.Restart writes it, so an earlier
// restart was a data race; and the old generation's last candidates,
// delivered late, went out after the new offer with a ufrag the client no
// longer has. The wait is bounded by restartGatherWait.

// RestartICE restarts ICE on one of the participant's connections. For the
// publisher connection there is nothing to do on this side (the client's
// next offer carries new credentials); it is accepted so that clients can
// treat both targets alike.
func (p *Participant) RestartICE(t Target) error {
	switch t {
	case TargetPublisher:
		if !p.canPub || p.remote {
			return ErrForbidden
		}
		return nil
	case TargetSubscriber:
		if p.sub == nil {
			return ErrForbidden
		}
		p.sub.restartICE()
		return nil
	}
	return fmt.Errorf("sfu: unknown target %q", t)
}

// restartICE makes the next subscriber offer an ICE restart and sends it
// now unless one is outstanding.
func (s *subscriber) restartICE() {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if s.closed {
		return
	}
	s.restart = true
	if s.offering {
		s.again = true
		return
	}
	s.offerLocked()
}

// ResendOffer re-emits the outstanding subscriber offer, if there is one:
// a client whose signaling connection dropped may have lost it (or its
// answer), and the SFU sends no other offer until it is answered. Answering
// it again is harmless.
func (p *Participant) ResendOffer() {
	if p.sub == nil {
		return
	}
	s := p.sub
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if s.closed || !s.offering {
		return
	}
	if d := s.pc.LocalDescription(); d != nil {
		p.emit(Offer{SDP: d.SDP})
	}
}

// restartGatherWait bounds how long a subscriber restart waits for the
// previous gathering to end; after it the offer goes out anyway. Gathering
// on the SFU has no STUN or TURN servers to wait for: it ends within
// milliseconds, even on a loaded machine.
const restartGatherWait = 3 * time.Second

// iceGeneration follows the subscriber connection's candidate gathering
// for restarts. It has its own lock: pion may deliver the end of
// candidates inside SetLocalDescription, under the subscriber's negMu.
type iceGeneration struct {
	mu        sync.Mutex
	gathering bool        // an offer started a gathering whose end-of-candidates is not out yet
	held      bool        // a restart offer waits for that end
	timer     *time.Timer // sends the held offer: at the end, or after restartGatherWait
}

// started records that the offer about to be made starts a gathering.
func (g *iceGeneration) started() {
	g.mu.Lock()
	g.gathering = true
	g.mu.Unlock()
}

// stop drops a held offer (the connection closes).
func (g *iceGeneration) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	if g.timer != nil {
		g.timer.Stop()
	}
}

// holdRestartLocked reports whether the next offer waits: it restarts ICE
// while a gathering runs, or an offer waits already. negMu is held.
func (s *subscriber) holdRestartLocked() bool {
	g := &s.gen
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held {
		return true
	}
	if !s.restart || !g.gathering {
		return false
	}
	g.held = true
	if g.timer == nil {
		g.timer = time.AfterFunc(restartGatherWait, s.sendHeld)
	} else {
		g.timer.Reset(restartGatherWait)
	}
	return true
}

// gatheringEnded runs once the end-of-candidates has passed the gate: the
// generation's candidates are all out, and a held restart offer goes now
// (on the timer's goroutine: this may run under negMu).
func (s *subscriber) gatheringEnded() {
	g := &s.gen
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gathering = false
	if g.held {
		g.timer.Reset(0)
	}
}

// sendHeld sends the held restart offer, if one is held.
func (s *subscriber) sendHeld() {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	g := &s.gen
	g.mu.Lock()
	held, late := g.held, g.gathering
	g.held = false
	g.mu.Unlock()
	if !held || s.closed {
		return
	}
	if late {
		s.p.log.Warn("ICE restart: the previous gathering has not ended; restarting anyway", "waited", restartGatherWait)
	}
	s.offerNowLocked() // nothing offers while one is held: none is outstanding
}

// offerUfrag is the ICE ufrag of a description ("" if it has none).
func offerUfrag(d webrtc.SessionDescription) string {
	parsed, err := d.Unmarshal()
	if err != nil {
		return ""
	}
	if u, ok := parsed.Attribute("ice-ufrag"); ok {
		return u
	}
	for _, m := range parsed.MediaDescriptions {
		if u, ok := m.Attribute("ice-ufrag"); ok {
			return u
		}
	}
	return ""
}
