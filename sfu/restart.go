package sfu

import "fmt"

// ICE restarts. A browser restarts ICE when its network changes or a
// connection goes disconnected or failed: on the publisher connection it
// simply offers with new ICE credentials, and pion restarts its agent when
// it applies that offer (handleOffer). The subscriber connection is offered
// by the SFU, so the client asks, and the SFU's next offer restarts ICE.
// The request rides the subscriber's one-offer-at-a-time negotiation: made
// while an offer is outstanding, it is folded into the next offer, sent
// when the answer arrives, exactly as track changes are (no glare).

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
