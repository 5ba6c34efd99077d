package qrtp

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// hsState is what a connection keeps while its handshake runs.
type hsState struct {
	// Initiator.
	initiator *handshake.Initiator
	cookie    []byte
	payload   []byte // 0-RTT frames (with padding), reused after a Retry
	initBytes []byte // the Init datagram, resent as is
	tries     int
	retries   int
	firstSent time.Time
	lastSent  time.Time
	nextSend  time.Time
	// Responder.
	pending  *handshake.Pending
	response []byte // the InitResponse datagram, resent for duplicate Inits
	resend   bool
}

const (
	// handshakeRTO is the first retransmission timeout of KeyRequest and
	// Init; it doubles per try up to maxHandshakeRTO. The cap is low
	// because a handshake needs both its datagrams through: at 50% loss
	// each way a try succeeds one time in four, and with a 3 s cap a
	// third of handshakes were still failing after 5 s; one Init a second
	// costs little.
	handshakeRTO    = 300 * time.Millisecond
	maxHandshakeRTO = time.Second
	maxRetries      = 3
)

func (c *Conn) hsNextSend() time.Time {
	if c.hs == nil {
		return time.Time{}
	}
	if c.state == stateInit || c.hs.nextSend.IsZero() {
		return c.now // (nothing sent yet: the first KeyRequest goes now)
	}
	return c.hs.nextSend
}

func (c *Conn) armHandshakeTimer(now time.Time) {
	h := c.hs
	if h.tries == 0 {
		h.firstSent = now
	}
	h.tries++
	h.lastSent = now
	h.nextSend = now.Add(min(handshakeRTO<<min(h.tries-1, 8), maxHandshakeRTO))
}

// pollInitiator sends KeyRequest or Init, first time or on its timer.
func (c *Conn) pollInitiator(now time.Time, send func(netip.AddrPort, []byte)) {
	h := c.hs
	switch c.state {
	case stateKeyRequest:
		if now.Before(h.nextSend) {
			return
		}
		hdr := wire.LongHeader{Type: wire.PacketKeyRequest, Version: wire.Version, DCID: c.initialDCID, SCID: c.localCID()}
		b := wire.AppendLongHeader(c.ep.sendBuf[:0], &hdr)
		b = wire.AppendPadding(b, wire.MinKeyRequestSize-len(b))
		c.armHandshakeTimer(now)
		c.ep.countSent(len(b))
		send(c.path.addr, b)
	case stateInit:
		if err := c.buildInit(now); err != nil {
			c.ep.log.Warn("qrtp: cannot build Init", "remote", c.path.addr, "err", err)
			c.closeSilently(err)
			return
		}
		c.state = stateInitSent
		h.tries = 0
		fallthrough
	case stateInitSent:
		if h.tries > 0 && now.Before(h.nextSend) {
			return
		}
		// Re-sends go out as two, then three copies: an unanswered Init
		// is the first sign of a lossy path, where a try needs both the
		// Init and its answer through (one in four at 50% loss each way).
		// Each copy is answered from the responder's cache, so a try's
		// chance nearly doubles for 1200 bytes a copy. At 50% loss both
		// ways in netsim, handshakes took p50 1.1 s and p90 6.1 s with one
		// copy, 0.5 s and 2.1 s now (200 seeds, RTT 200 ms).
		copies := min(h.tries+1, 3)
		c.armHandshakeTimer(now)
		for range copies {
			c.ep.countSent(len(h.initBytes))
			send(c.path.addr, h.initBytes)
		}
	}
}

// buildInit writes the Init datagram: long header (the Noise prologue),
// then Noise IK message 1 whose payload is the 0-RTT frames, padded so
// the datagram is at least minInitSize.
func (c *Conn) buildInit(now time.Time) error {
	h := c.hs
	hdr := wire.LongHeader{Type: wire.PacketInit, Version: wire.Version, DCID: c.initialDCID, SCID: c.localCID(), Cookie: h.cookie}
	b := wire.AppendLongHeader(c.ep.sendBuf[:0], &hdr)
	if h.payload == nil {
		limit := c.ep.cfg.MaxDatagramSize - len(b) - handshake.InitOverhead
		payload := c.buildHandshakePayload(now, limit)
		if pad := minInitSize - (len(b) + handshake.InitOverhead + len(payload)); pad > 0 {
			payload = wire.AppendPadding(payload, pad)
		}
		h.payload = append([]byte(nil), payload...)
	}
	out, err := h.initiator.WriteInit(b, now, b, h.payload)
	if err != nil {
		return err
	}
	h.initBytes = append(h.initBytes[:0], out...)
	return nil
}

// buildHandshakePayload fills a handshake message's payload with control
// and stream frames and records it as packet 0 of this side's space: the
// peer's reply (InitResponse, or the first short packet) acknowledges it.
func (c *Conn) buildHandshakePayload(now time.Time, limit int) []byte {
	c.frames = c.frames[:0]
	b := c.appendControl(c.ep.plainBuf[:0], limit)
	b = c.appendStreams(now, b, limit)
	p := c.rec.ring.push()
	p.frames = append(p.frames, c.frames...)
	// Not in flight and not ack-eliciting: the handshake timer, not the
	// PTO, retransmits it (as identical bytes).
	c.rec.onSent(now, p, len(b), false, false)
	return b
}

// onKeyResponse learns the responder's key (trust on first use).
func (c *Conn) onKeyResponse(now time.Time, hdr *wire.LongHeader) {
	if c.state != stateKeyRequest || hdr.SCID != c.initialDCID {
		return
	}
	var key handshake.PublicKey
	copy(key[:], hdr.Body)
	init, err := handshake.NewInitiator(c.ep.cfg.Key, key, c.ep.rand)
	if err != nil {
		c.ep.logLimited(now, "bad key in KeyResponse", "remote", c.path.addr, "err", err)
		return
	}
	if c.hs.tries == 1 {
		c.rec.rtt.update(now.Sub(c.hs.firstSent), 0)
	}
	c.remoteKey = key
	c.hs.initiator = init
	c.state = stateInit
	c.hs.tries = 0
}

// onRetry restarts the handshake with the responder's cookie. A Retry
// carrying the cookie we already use answers a copy of an Init sent
// before the restart (Inits are re-sent twice): restarting again would
// orphan the Init the responder is about to answer.
func (c *Conn) onRetry(now time.Time, hdr *wire.LongHeader) {
	if c.state != stateInitSent || hdr.SCID != c.initialDCID || c.hs.retries >= maxRetries {
		return
	}
	if len(c.hs.cookie) > 0 && bytes.Equal(hdr.Cookie, c.hs.cookie) {
		return
	}
	init, err := handshake.NewInitiator(c.ep.cfg.Key, c.remoteKey, c.ep.rand)
	if err != nil {
		return
	}
	c.hs.initiator = init
	c.hs.cookie = append(c.hs.cookie[:0], hdr.Cookie...)
	c.hs.retries++
	c.hs.tries = 0
	c.retried = true
	c.state = stateInit
}

// onInitResponse completes the initiator's handshake.
func (c *Conn) onInitResponse(now time.Time, b []byte, hdr *wire.LongHeader) {
	if c.state != stateInitSent {
		if c.state == stateEstablished {
			// Our first packets were lost and the responder saw our Init
			// again: answer at once so it can confirm the handshake.
			c.acks.immediate, c.acks.pending = true, true
		}
		return
	}
	payload, keys, err := c.hs.initiator.ReadResponse(b[:hdr.HeaderLen], hdr.Body)
	if err != nil {
		c.st.DecryptFailures++
		c.ep.st.HandshakeDecrypt++
		c.ep.logLimited(now, "InitResponse failed authentication", "remote", c.path.addr, "err", err)
		return
	}
	c.remoteCID = hdr.SCID
	c.setKeys(keys)
	if c.hs.tries == 1 {
		c.rec.rtt.update(now.Sub(c.hs.lastSent), 0)
	}
	c.hs = nil
	c.state = stateEstablished
	c.lastRecv = now
	c.rec.ackHandshake(now, c)
	c.st.PacketsReceived++
	c.st.BytesReceived += uint64(len(b))
	if err := c.receiveHandshakePayload(now, payload); err != nil {
		c.closeWithError(err)
		return
	}
	// Make our first short packet ack-eliciting: the responder confirms
	// the handshake (and validates our address) when it arrives, and a
	// lost one is then retransmitted by the PTO.
	c.ctl.ping = true
	c.issueSpareCID()
	c.events.push(Event{Kind: EventConnected})
}

// receiveHandshakePayload processes the frames of the peer's handshake
// message as its packet 0.
func (c *Conn) receiveHandshakePayload(now time.Time, payload []byte) error {
	c.replay.Mark(0)
	c.largestRecv, c.anyRecv = 0, true
	if _, err := c.processFrames(now, payload); err != nil {
		return err
	}
	c.acks.onReceived(now, 0, true, c.cfg.MaxAckDelay)
	return nil
}

// setKeys installs the session keys; short packets start at number 1
// (packet 0 was the handshake message).
func (c *Conn) setKeys(k handshake.SessionKeys) { c.keys.set(k, 1) }

// pollResponder sends the InitResponse (built on first use, then cached).
func (c *Conn) pollResponder(now time.Time, send func(netip.AddrPort, []byte)) {
	h := c.hs
	if h == nil {
		return
	}
	if h.response == nil {
		hdr := wire.LongHeader{Type: wire.PacketInitResponse, Version: wire.Version, DCID: c.remoteCID, SCID: c.localCID()}
		b := wire.AppendLongHeader(c.ep.sendBuf[:0], &hdr)
		room := min(c.ep.cfg.MaxDatagramSize, c.path.budget())
		payload := c.buildHandshakePayload(now, room-len(b)-handshake.ResponseOverhead)
		out, keys, err := h.pending.WriteResponse(b, b, payload)
		if err != nil {
			c.ep.log.Warn("qrtp: cannot write InitResponse", "remote", c.path.addr, "err", err)
			c.closeSilently(err)
			return
		}
		c.setKeys(keys)
		h.pending = nil
		h.response = append([]byte(nil), out...)
		h.resend = true
	}
	if !h.resend {
		return
	}
	if c.path.budget() < len(h.response) {
		h.resend = false // wait for more bytes from the initiator
		return
	}
	h.resend = false
	c.path.sentBytes += uint64(len(h.response))
	c.ep.countSent(len(h.response))
	send(c.path.addr, h.response)
}

// onDuplicateInit handles an Init for a handshake we already answered:
// the same bytes get the cached InitResponse again, within the address's
// anti-amplification budget.
func (c *Conn) onDuplicateInit(now time.Time, from netip.AddrPort, b []byte) {
	c.ep.st.DuplicateInits++
	if c.state != stateResponding || c.hs == nil || from != c.path.addr || !bytes.Equal(b, c.hs.initBytes) {
		return
	}
	c.path.recvBytes += uint64(len(b))
	if c.hs.response != nil {
		c.hs.resend = true
	}
}

// confirm completes the responder's handshake: the first authenticated
// short packet proves the initiator got our InitResponse at its address.
func (c *Conn) confirm(now time.Time) {
	c.state = stateEstablished
	c.path.validated = true
	c.hs = nil
	c.ep.pending--
	c.ep.st.HandshakesOK++
	c.issueSpareCID()
	c.events.push(Event{Kind: EventConnected})
}

// issueSpareCID gives the peer a second connection ID that reaches us.
// Without one the connection still works; it only cannot move to a fresh
// ID when its path changes.
func (c *Conn) issueSpareCID() {
	if len(c.localCIDs) > 1 {
		return
	}
	id, err := c.ep.newCID()
	if err != nil {
		c.ep.logLimited(c.now, "no spare connection ID", "remote", c.path.addr, "err", err)
		return
	}
	c.localCIDs = append(c.localCIDs, id)
	c.ep.byCID[id] = c
	c.ctl.newCIDs = append(c.ctl.newCIDs, 1)
}
