package qrtp

import (
	"errors"
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// answerKeyRequest tells the asker our static key. It keeps no state and
// the answer (53 bytes) is far smaller than the padded request.
func (e *Endpoint) answerKeyRequest(from netip.AddrPort, h *wire.LongHeader) {
	if e.responder == nil {
		e.st.HandshakeRejectedNotAccepting++
		return
	}
	e.st.KeyRequests++
	out := wire.LongHeader{Type: wire.PacketKeyResponse, Version: wire.Version, DCID: h.SCID, SCID: h.DCID}
	b := wire.AppendLongHeader(nil, &out)
	pub := e.cfg.Key.Public
	e.queueStateless(from, append(b, pub[:]...))
}

func (e *Endpoint) queueStateless(to netip.AddrPort, b []byte) {
	if len(e.stateless) >= maxStatelessQueue {
		e.st.StatelessDropped++
		return
	}
	e.stateless = append(e.stateless, statelessReply{to: to, b: b})
}

// refillTokens advances the handshake rate limiter; tokens may go down to
// -burst (cookie-bearing Inits overdraw up to twice the rate).
func (e *Endpoint) refillTokens(now time.Time) float64 {
	burst := max(e.cfg.MaxHandshakesPerSecond, 1)
	if dt := now.Sub(e.tokensAt); dt > 0 {
		e.tokens = min(e.tokens+e.cfg.MaxHandshakesPerSecond*dt.Seconds(), burst)
		e.tokensAt = now
	}
	return burst
}

// acceptInit decides what to do with an Init for no known connection:
// Retry, drop, or authenticate it and create the connection.
//
// Soft limits (handshake rate, pending handshakes) and
// RequireAddressValidation answer an Init without a valid cookie with a
// stateless Retry, which costs an HMAC and not a Noise operation. Hard
// limits (twice the soft ones, MaxConnections) drop even Inits with a
// cookie. Nothing is created for an Init that fails authentication.
func (e *Endpoint) acceptInit(now time.Time, from netip.AddrPort, b []byte, h *wire.LongHeader) {
	if e.responder == nil || e.closed {
		e.st.HandshakeRejectedNotAccepting++
		return
	}
	var ids [2 * wire.ConnIDLen]byte
	copy(ids[:], h.DCID[:])
	copy(ids[wire.ConnIDLen:], h.SCID[:])
	cookieOK := false
	if len(h.Cookie) > 0 {
		if cookieOK = e.cookies.Verify(now, from, ids[:], h.Cookie); !cookieOK {
			e.st.InvalidCookies++
		}
	}
	burst := e.refillTokens(now)
	loaded := e.tokens < 1 || e.pending >= e.cfg.MaxPendingHandshakes
	if !cookieOK && (loaded || e.cfg.RequireAddressValidation) {
		e.sendRetry(now, from, h, ids[:])
		return
	}
	if e.tokens < 1-burst || e.pending >= 2*e.cfg.MaxPendingHandshakes || len(e.conns) >= e.cfg.MaxConnections {
		e.st.HandshakeBusy++
		e.logLimited(now, "handshake dropped: endpoint busy", "remote", from, "pending", e.pending, "conns", len(e.conns))
		return
	}
	e.tokens--
	pending, err := e.responder.ReadInit(now, b[:h.HeaderLen], h.Body)
	if err != nil {
		e.countHandshakeFailure(now, from, err)
		if stale(err) && !cookieOK {
			e.st.StaleInitRetries++
			e.sendRetry(now, from, h, ids[:])
		}
		return
	}
	e.newResponderConn(now, from, b, h, pending, cookieOK)
}

// stale reports an Init that authenticated but carries a timestamp the
// replay protection refuses: built before this endpoint started (a peer
// re-sending an Init it made while we were down or restarting), outside
// the window, or already used. A Retry makes a live initiator rebuild it
// with a fresh timestamp and ephemeral key at once; otherwise it would
// re-send the same refused bytes until its handshake timed out, and a
// restarted node got its trunks back only when the peer's dial backed off
// (7.5 s). The Retry is stateless and smaller than the Init, so replaying
// a captured Init gains an attacker nothing. An Init that already carries
// a valid cookie was rebuilt after a Retry; if it is still stale, the
// clocks disagree and another Retry would not help.
func stale(err error) bool {
	return errors.Is(err, handshake.ErrExpired) || errors.Is(err, handshake.ErrReplay)
}

func (e *Endpoint) sendRetry(now time.Time, from netip.AddrPort, h *wire.LongHeader, ids []byte) {
	e.st.RetriesSent++
	out := wire.LongHeader{Type: wire.PacketRetry, Version: wire.Version, DCID: h.SCID, SCID: h.DCID,
		Cookie: e.cookies.Make(now, from, ids)}
	e.queueStateless(from, wire.AppendLongHeader(nil, &out))
}

func (e *Endpoint) countHandshakeFailure(now time.Time, from netip.AddrPort, err error) {
	reason := "malformed"
	switch {
	case errors.Is(err, handshake.ErrDecrypt):
		e.st.HandshakeDecrypt++
		reason = "authentication failed"
	case errors.Is(err, handshake.ErrReplay):
		e.st.HandshakeReplay++
		reason = "replayed"
	case errors.Is(err, handshake.ErrExpired):
		e.st.HandshakeExpired++
		reason = "expired"
	case errors.Is(err, handshake.ErrUnauthorized):
		e.st.HandshakeUnauthorized++
		reason = "unauthorized key"
	case errors.Is(err, handshake.ErrBusy):
		e.st.HandshakeBusy++
		reason = "replay table full"
	default:
		e.st.HandshakeMalformed++
	}
	e.logLimited(now, "handshake rejected: "+reason, "remote", from, "err", err)
}

// newResponderConn creates the connection for an authenticated Init and
// processes its 0-RTT frames at once.
func (e *Endpoint) newResponderConn(now time.Time, from netip.AddrPort, b []byte, h *wire.LongHeader, pending *handshake.Pending, cookieOK bool) {
	cfg, prof, err := resolveConn(e.cfg.Conn, ConnConfig{})
	if err != nil {
		return
	}
	c, err := newConn(e, now, false, from, cfg, prof)
	if err != nil {
		e.log.Warn("qrtp: cannot create connection", "err", err)
		return
	}
	c.remoteCID, c.initialDCID = h.SCID, h.DCID
	c.remoteKey = pending.RemoteStatic()
	c.hs = &hsState{pending: pending, initBytes: append([]byte(nil), b...)}
	c.path.recvBytes = uint64(len(b))
	c.path.validated = cookieOK
	c.state, c.kind, c.retried = stateResponding, "0rtt", cookieOK
	c.st.PacketsReceived++
	c.st.BytesReceived += uint64(len(b))
	if err := c.receiveHandshakePayload(now, pending.Payload()); err != nil {
		e.st.HandshakeMalformed++
		e.logLimited(now, "0-RTT payload rejected", "remote", from, "err", err)
		return
	}
	// The InitResponse acknowledges the Init implicitly; no ACK frame for it.
	c.acks.onAckSent()
	e.byCID[c.localCID()] = c
	e.byCID[c.initialDCID] = c
	e.addConn(c)
	e.acceptQ = append(e.acceptQ, c)
	e.pending++
}
