package qrtp

import "time"

// onTimers runs whatever timer is due at now.
func (c *Conn) onTimers(now time.Time) {
	switch c.state {
	case stateClosed:
		return
	case stateClosing, stateDraining:
		if !now.Before(c.closeDeadline) {
			c.state = stateClosed
		}
		return
	}
	if c.state < stateEstablished && !now.Before(c.handshakeDeadline) {
		c.ep.st.HandshakeTimeout++
		c.ep.logLimited(now, "handshake timeout", "remote", c.path.addr)
		err := ErrHandshakeTimeout
		if c.initiator && c.kind == "1rtt-learned-key" && !c.remoteKey.IsZero() {
			err = ErrInitUnanswered
		}
		c.closeSilently(err)
		return
	}
	// An initiator's handshake is bounded by the handshake deadline alone
	// (nextTimeout arms no idle timer for it): the idle timeout, shorter on
	// trunks, used to end it at the first re-send due after it, so a dial
	// got three Inits and then nothing until the next dial.
	initiating := c.state == stateKeyRequest || c.state == stateInit || c.state == stateInitSent
	if !initiating && !now.Before(c.lastRecv.Add(c.idleTimeout())) {
		c.closeSilently(ErrIdleTimeout)
		return
	}
	if !c.keys.ready() {
		return
	}
	c.rec.onTimeout(now, c)
	c.fecTx.settle(c)
	c.fecTx.onTimer(now, c)
	if c.state == stateEstablished && c.cfg.KeepAlive > 0 && !now.Before(c.keepAliveAt()) {
		c.ctl.ping = true
	}
	c.checkPath(now)
	c.expireDueMessages(now)
}

func (c *Conn) idleTimeout() time.Duration {
	return max(c.cfg.IdleTimeout, 3*c.rec.rtt.pto(peerMaxAckDelay))
}

func (c *Conn) keepAliveAt() time.Time {
	last := c.lastElicitingSent
	if last.IsZero() {
		last = c.created
	}
	return last.Add(c.cfg.KeepAlive)
}

// expireDueMessages gives up on queued messages that can no longer arrive
// in time, even on streams the scheduler has not reached.
func (c *Conn) expireDueMessages(now time.Time) {
	if c.nextMsgDeadline.IsZero() || now.Before(c.nextMsgDeadline) {
		return
	}
	srtt := c.rec.rtt.srtt()
	for lvl := range c.sched.levels {
		head := c.sched.levels[lvl]
		if head == nil {
			continue
		}
		s := head
		for {
			next := s.next
			if s.ms != nil {
				s.ms.expireDue(now, srtt, func(m *outMsg) { c.expireMessage(s, m) })
			}
			if next == head || next == nil {
				break
			}
			s = next
		}
	}
	c.updateMsgDeadline()
}

// updateMsgDeadline finds when the earliest queued message stops being
// worth sending.
func (c *Conn) updateMsgDeadline() {
	c.nextMsgDeadline = time.Time{}
	half := c.rec.rtt.srtt() / 2
	for _, head := range c.sched.levels {
		if head == nil {
			continue
		}
		s := head
		for {
			if s.ms != nil {
				if d := s.ms.nextDeadline(); !d.IsZero() {
					d = d.Add(-half)
					if c.nextMsgDeadline.IsZero() || d.Before(c.nextMsgDeadline) {
						c.nextMsgDeadline = d
					}
				}
			}
			s = s.next
			if s == head || s == nil {
				break
			}
		}
	}
}

// nextTimeout is when the connection next needs Poll; zero if never.
func (c *Conn) nextTimeout() time.Time {
	var t time.Time
	at := func(x time.Time) {
		if !x.IsZero() && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	switch c.state {
	case stateClosed:
		return t
	case stateClosing, stateDraining:
		at(c.closeDeadline)
		if c.state == stateClosing && c.keys.ready() && c.closeSends < 8 && (c.closeSends == 0 || c.closeResend) {
			at(c.now)
		}
		return t
	case stateKeyRequest, stateInit, stateInitSent:
		at(c.handshakeDeadline)
		at(c.hsNextSend())
		return t
	case stateResponding:
		at(c.handshakeDeadline)
		if c.hs != nil && (c.hs.response == nil || c.hs.resend) {
			at(c.now)
		}
	}
	at(c.lastRecv.Add(c.idleTimeout()))
	if !c.keys.ready() {
		return t
	}
	if c.state == stateEstablished && c.cfg.KeepAlive > 0 && !c.ctl.ping {
		// Once the PING is queued, wantsToSend (below) decides when it goes.
		at(c.keepAliveAt())
	}
	at(c.acks.timer())
	at(c.rec.timer())
	if !c.path.validated {
		at(c.path.challengeDeadline)
	}
	at(c.nextMsgDeadline)
	at(c.fecTx.enc.NextFlush())
	if c.polledFull {
		at(c.now)
	}
	if (len(c.ctl.pathResponses) > 0 || c.acks.due(c.now)) && c.path.budget() >= minShortPacket {
		at(c.now) // (an exhausted anti-amplification budget waits for the peer)
	}
	if c.wantsToSend() {
		at(c.pacer.next(c.now, c.rec.cc.PacingRate(), c.ep.cfg.MaxDatagramSize))
	}
	return t
}

// wantsToSend reports data that congestion control would let go now or at
// the pacer's next release.
func (c *Conn) wantsToSend() bool {
	size := c.ep.cfg.MaxDatagramSize
	if c.path.budget() < minShortPacket {
		return false
	}
	if !c.rec.canSend(min(size, c.path.budget())) {
		return false
	}
	return c.rec.probes > 0 || !c.ctl.empty() || c.path.challengePending || !c.sched.empty() || c.fecTx.pending()
}

// closeSilently ends the connection without telling the peer (timeouts,
// failed handshakes).
func (c *Conn) closeSilently(err error) {
	if c.state == stateClosed {
		return
	}
	c.state = stateClosed
	c.closeErr = err
	c.events.push(Event{Kind: EventClosed, Err: err})
}

// closeLocal starts closing: CONNECTION_CLOSE goes out on the next Poll
// and the connection lingers for three PTOs to repeat it if needed.
func (c *Conn) closeLocal(err *CloseError) {
	if c.state >= stateClosing {
		return
	}
	if !c.keys.ready() {
		c.closeSilently(err)
		return
	}
	c.state = stateClosing
	c.closeErr = err
	c.closeDeadline = c.now.Add(3 * c.rec.rtt.pto(peerMaxAckDelay))
	c.events.push(Event{Kind: EventClosed, Err: err})
}

// closeWithError closes after a protocol violation by the peer.
func (c *Conn) closeWithError(err error) {
	ce := &CloseError{Code: CodeInternal, Reason: err.Error()}
	if pe, ok := err.(*protocolError); ok {
		ce.Code = pe.code
	}
	c.ep.logLimited(c.now, "closing connection on protocol error", "remote", c.path.addr, "err", err)
	c.closeLocal(ce)
}

// onPeerClose enters draining after the peer's CONNECTION_CLOSE.
func (c *Conn) onPeerClose(code uint64, reason []byte) {
	if c.state >= stateClosing {
		c.state = stateDraining
		return
	}
	c.state = stateDraining
	c.closeErr = &CloseError{Code: ErrorCode(code), Reason: string(reason), Remote: true}
	c.closeDeadline = c.now.Add(3 * c.rec.rtt.pto(peerMaxAckDelay))
	c.events.push(Event{Kind: EventClosed, Err: c.closeErr})
}
