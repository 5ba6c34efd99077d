package qrtp

import (
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

const (
	// maxPacketsPerPoll bounds one Poll's work for one connection so others
	// get their turn; NextTimeout asks for another Poll at once if needed.
	maxPacketsPerPoll = 1024
	// minStreamRoom is the least room worth starting a stream frame in.
	minStreamRoom = 24
	// minShortPacket is the least datagram worth sending on a path with
	// an anti-amplification budget.
	minShortPacket = wire.ShortHeaderLen + handshake.SealOverhead + 16
	// ackOnlyPingEvery: after this many ACK-only packets in a row we add a
	// PING, so the peer acknowledges and we can stop repeating old ranges.
	ackOnlyPingEvery = 16
)

type sendStatus uint8

const (
	sendWrote  sendStatus = iota
	sendNoRoom            // has data, but not enough room left in this packet
	sendIdle              // nothing sendable now (empty or flow-control blocked)
)

// poll sends whatever the connection may send at now.
func (c *Conn) poll(now time.Time, send func(netip.AddrPort, []byte)) {
	c.now = now
	c.onTimers(now)
	switch c.state {
	case stateClosed, stateDraining:
		return
	case stateKeyRequest, stateInit, stateInitSent:
		c.pollInitiator(now, send)
		return
	case stateClosing:
		c.pollClose(now, send)
		return
	case stateResponding:
		c.pollResponder(now, send)
	}
	if !c.keys.ready() {
		return
	}
	c.polledFull = false
	c.fecTx.maybeChoose(now, c)
	for i := 0; ; i++ {
		if i == maxPacketsPerPoll {
			c.polledFull = true
			break
		}
		if !c.sendPacket(now, send) {
			break
		}
	}
	c.checkAppLimited(now)
	c.updateMsgDeadline()
}

// checkAppLimited tells the controller when the sender ran out of data
// while the window had room: its delivery-rate samples then measure the
// application, not the path, and must not lower its bandwidth estimate.
// Without it a media flow's estimate sinks to what it delivers, which at
// heavy loss is less than it must send.
func (c *Conn) checkAppLimited(now time.Time) {
	if c.polledFull || !c.sched.empty() || !c.ctl.empty() || c.fecTx.pending() || c.rec.probes > 0 {
		return
	}
	if c.rec.bytesInFlight+c.ep.cfg.MaxDatagramSize <= c.rec.cc.CongestionWindow() {
		c.rec.cc.OnAppLimited(now, c.rec.bytesInFlight)
	}
}

// sendPacket builds, seals and sends one short-header packet if there is
// anything to send; it reports whether it sent one.
func (c *Conn) sendPacket(now time.Time, send func(netip.AddrPort, []byte)) bool {
	size := c.ep.cfg.MaxDatagramSize
	if budget := c.path.budget(); budget < size {
		if budget < minShortPacket {
			return false
		}
		size = budget
	}
	if c.rec.probes > 0 && c.sched.empty() {
		// Nothing new to probe with: repeat the oldest outstanding data,
		// so every probe (not just the first) can fill the hole the peer
		// may be waiting on.
		c.rec.requeueOldest(now, c)
	}
	rate := c.rec.cc.PacingRate()
	mayData := c.rec.canSend(size) && (c.rec.probes > 0 || c.pacer.allows(now, rate, size))
	haveData := mayData && (!c.ctl.empty() || c.path.challengePending || !c.sched.empty() || c.fecTx.pending() || c.rec.probes > 0)
	ackDue := c.acks.due(now)
	if !ackDue && !haveData && len(c.ctl.pathResponses) == 0 {
		return false
	}
	pn := c.rec.nextPN()
	sealer, phase := c.keys.seal(pn, c.rec.largestAcked, c.rec.anyAcked)
	buf := wire.AppendShortHeader(c.ep.sendBuf[:0], c.remoteCID, pn, c.pnLen(pn), phase)
	hdrLen := len(buf)
	limit := size - handshake.SealOverhead
	c.frames = c.frames[:0]
	c.fecTx.beginPacket()
	var hasAck, hasReport bool
	var ackLo, ackHi, repLo, repHi uint64
	if c.acks.pending && (ackDue || haveData) {
		// FEC_RECOVERED goes first: the sender must learn what was rebuilt
		// no later than the ACK that shows the rest of the group arrived.
		buf, repLo, repHi, hasReport = c.fecRx.appendReport(buf, limit-len(buf))
		buf, ackLo, ackHi, hasAck = c.acks.appendAck(buf, now, limit-len(buf))
	}
	afterAck := len(buf)
	if mayData {
		buf = c.appendControl(buf, limit)
		buf = c.appendRepair(now, buf, limit)
		buf = c.appendStreams(now, buf, limit)
	} else {
		buf = c.appendPathResponses(buf, limit)
	}
	eliciting := len(buf) > afterAck
	if !eliciting && mayData && (c.rec.probes > 0 || (hasAck && c.acks.ackOnlyRun+1 >= ackOnlyPingEvery)) {
		buf = wire.AppendPing(buf)
		eliciting = true
	}
	if len(buf) == hdrLen {
		return false
	}
	out := sealer.Seal(buf[:hdrLen], buf[:hdrLen], buf[hdrLen:], pn)
	send(c.path.addr, out)
	c.ep.countSent(len(out))
	p := c.rec.ring.push()
	p.frames = append(p.frames, c.frames...)
	p.hasAck, p.ackLo, p.ackHi = hasAck, ackLo, ackHi
	p.hasReport, p.reportLo, p.reportHi = hasReport, repLo, repHi
	c.rec.onSent(now, p, len(out), eliciting, eliciting)
	c.fecTx.afterPacket(now, c, p, hdrLen+handshake.SealOverhead)
	if eliciting {
		c.pacer.sent(len(out), rate)
		c.lastElicitingSent = now
		c.rec.probes = max(c.rec.probes-1, 0)
		c.acks.ackOnlyRun = 0
	} else {
		c.acks.ackOnlyRun++
	}
	if hasAck {
		c.acks.onAckSent()
	}
	for _, s := range c.dupWait {
		c.sched.activate(s)
	}
	c.dupWait = c.dupWait[:0]
	if !c.path.validated {
		c.path.sentBytes += uint64(len(out))
	}
	return true
}

// pnLen is how many bytes of pn go on the wire: what RFC 9000 §17.1 asks
// for (twice the distance to the largest acknowledged), but at least two.
// One byte would only tolerate 128 packets of reordering, and a single
// paced burst at high rates is longer than that; two bytes cover 32k,
// beyond the 4096-packet replay window.
func (c *Conn) pnLen(pn uint64) int {
	return max(2, wire.PacketNumberLen(pn, c.rec.largestAcked, c.rec.anyAcked))
}

func (c *Conn) appendPathResponses(b []byte, limit int) []byte {
	for len(c.ctl.pathResponses) > 0 && len(b)+9 <= limit {
		f := wire.PathResponseFrame{Data: c.ctl.pathResponses[0]}
		b = f.Append(b)
		c.ctl.pathResponses = c.ctl.pathResponses[1:]
	}
	return b
}

// appendStreams fills the packet from the scheduler.
func (c *Conn) appendStreams(now time.Time, b []byte, limit int) []byte {
	for limit-len(b) >= minStreamRoom {
		s := c.sched.pick()
		if s == nil {
			break
		}
		before := len(b)
		var st sendStatus
		switch {
		case s.rs != nil:
			b, st = c.appendReliable(s, b, limit)
		case s.ms != nil:
			b, st = c.appendMessage(now, s, b, limit)
		default:
			b, st = c.appendDatagram(now, s, b, limit)
		}
		switch st {
		case sendNoRoom:
			return b
		case sendIdle:
			c.sched.deactivate(s)
			continue
		}
		c.sched.charge(s, len(b)-before)
		if !s.hasSendable() {
			c.sched.deactivate(s)
		}
	}
	return b
}

func (c *Conn) appendReliable(s *Stream, b []byte, limit int) ([]byte, sendStatus) {
	rs := s.rs
	avail := limit - len(b)
	room := avail - wire.StreamFrameOverhead(s.id, rs.peekOff(), avail)
	credit := c.sendMax - min(c.sentData, c.sendMax)
	pn := c.rec.nextPN()
	ch, ok := rs.nextDup(room, pn)
	if !ok {
		ch, ok = rs.next(room, credit)
	}
	if !ok {
		if !rs.dup.empty() {
			c.dupWait = append(c.dupWait, s) // its second copy goes in the next packet
		}
		if rs.retx.empty() && rs.sentOff < rs.writeOff && rs.sentOff < rs.maxData && credit == 0 && !s.connBlocked {
			s.connBlocked = true
			c.blockedOnConn = append(c.blockedOnConn, s)
		}
		return b, sendIdle
	}
	f := wire.StreamFrame{StreamID: s.id, Offset: ch.off, Fin: ch.fin}
	b = f.AppendHeader(b, ch.n)
	n0 := len(b)
	b = b[:n0+ch.n]
	rs.read(ch, b[n0:])
	c.sentData += rs.sent(ch)
	s.stats.BytesSent += uint64(ch.n)
	if ch.retx {
		s.stats.BytesRetransmitted += uint64(ch.n)
		c.st.BytesRetransmitted += uint64(ch.n)
	}
	c.record(sentFrame{kind: fkStream, s: s, off: ch.off, n: uint32(ch.n), fin: ch.fin})
	if s.opts.Redundant {
		rs.markDup(ch, pn)
	}
	return b, sendWrote
}

// appendRepair adds the next FEC repair frame if it fits; one per packet,
// so each packet is a repair symbol of at most one group.
func (c *Conn) appendRepair(now time.Time, b []byte, limit int) []byte {
	if !c.fecTx.pending() {
		return b
	}
	if r := c.fecTx.nextRepair(now, c, limit-len(b), max(c.rec.rtt.srtt(), fecChooseMin)); r != nil {
		b = append(b, r...)
	}
	return b
}

func (c *Conn) appendMessage(now time.Time, s *Stream, b []byte, limit int) ([]byte, sendStatus) {
	avail, ok := c.fecTx.admit(s, limit-len(b))
	if !ok {
		return b, sendNoRoom // protected and unprotected frames: separate packets
	}
	room := func(m *outMsg) int {
		total := uint64(len(m.data))
		return avail - wire.MessageFrameOverhead(s.id, m.seq, total, total, avail)
	}
	expire := func(m *outMsg) { c.expireMessage(s, m) }
	fr, st := s.ms.next(now, c.rec.rtt.srtt(), room, expire)
	if st != sendWrote {
		return b, st
	}
	m := fr.m
	f := wire.MessageFrame{StreamID: s.id, Seq: m.seq, Total: uint64(len(m.data)), Offset: uint64(fr.off)}
	before := len(b)
	b = f.AppendHeader(b, fr.n)
	b = append(b, m.data[fr.off:fr.off+fr.n]...)
	s.ms.sent(fr)
	// A message ends with its last new byte (unless more of its unit
	// follow: SendMessageMore), or with the last of its queued
	// retransmissions: its FEC group is sealed after this packet.
	end := (!fr.retx && fr.off+fr.n == len(m.data) && !m.more) || (fr.retx && m.retx.empty())
	c.fecTx.framed(now, s, b[before:], !fr.retx, end)
	s.stats.BytesSent += uint64(fr.n)
	if fr.retx {
		s.stats.BytesRetransmitted += uint64(fr.n)
		c.st.BytesRetransmitted += uint64(fr.n)
	}
	c.record(sentFrame{kind: fkMessage, s: s, seq: m.seq, off: uint64(fr.off), n: uint32(fr.n)})
	return b, sendWrote
}

func (c *Conn) appendDatagram(now time.Time, s *Stream, b []byte, limit int) ([]byte, sendStatus) {
	ds := s.ds
	for len(ds.q) > 0 {
		d := &ds.q[0]
		if !now.Before(d.deadline) {
			ds.pop()
			s.stats.DatagramsDropped++
			c.st.DatagramsDropped++
			continue
		}
		if wire.DatagramFrameOverhead(s.id, len(d.data))+len(d.data) > limit-len(b) {
			return b, sendNoRoom
		}
		f := wire.DatagramFrame{StreamID: s.id, Data: d.data}
		b = f.Append(b, true)
		s.stats.DatagramsSent++
		s.stats.BytesSent += uint64(len(d.data))
		c.st.DatagramsSent++
		c.record(sentFrame{kind: fkDatagram, s: s, n: uint32(len(d.data))})
		ds.pop()
		return b, sendWrote
	}
	return b, sendIdle
}

// pollClose sends CONNECTION_CLOSE once, and again (a few times at most)
// when the peer keeps sending.
func (c *Conn) pollClose(now time.Time, send func(netip.AddrPort, []byte)) {
	if !c.keys.ready() || c.closeSends >= 8 || (c.closeSends > 0 && !c.closeResend) {
		return
	}
	c.closeResend = false
	c.closeSends++
	pn := c.rec.nextPN()
	sealer, phase := c.keys.seal(pn, c.rec.largestAcked, c.rec.anyAcked)
	buf := wire.AppendShortHeader(c.ep.sendBuf[:0], c.remoteCID, pn, c.pnLen(pn), phase)
	hdrLen := len(buf)
	f := wire.ConnectionCloseFrame{}
	if ce, ok := c.closeErr.(*CloseError); ok {
		f.Code, f.Reason = uint64(ce.Code), []byte(ce.Reason)
	}
	buf = f.Append(buf)
	out := sealer.Seal(buf[:hdrLen], buf[:hdrLen], buf[hdrLen:], pn)
	send(c.path.addr, out)
	c.ep.countSent(len(out))
	p := c.rec.ring.push()
	c.rec.onSent(now, p, len(out), false, false)
}
