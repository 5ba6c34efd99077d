package qrtp

import "github.com/qrtn/qrtn/qrtp/wire"

// control holds the control frames owed to the peer. Frames that state a
// current value (MAX_DATA, MAX_STREAMS, MAX_STREAM_DATA) are flags: when
// one is lost the current value is sent again, never a stale one.
type control struct {
	maxData       bool
	maxStreams    bool
	maxStreamData []*Stream
	resets        []*Stream
	expired       []*Stream // message streams with announcements pending
	newCIDs       []uint64
	pathResponses [][8]byte
	ping          bool
}

func (k *control) empty() bool {
	return !k.maxData && !k.maxStreams && len(k.maxStreamData) == 0 && len(k.resets) == 0 &&
		len(k.expired) == 0 && len(k.newCIDs) == 0 && len(k.pathResponses) == 0 && !k.ping
}

const maxPathResponses = 4

func (c *Conn) queueMaxStreamData(s *Stream) {
	if !s.maxDataQueued {
		s.maxDataQueued = true
		c.ctl.maxStreamData = append(c.ctl.maxStreamData, s)
	}
}

func (c *Conn) queueReset(s *Stream) {
	if !s.resetQueued {
		s.resetQueued = true
		c.ctl.resets = append(c.ctl.resets, s)
	}
}

func (c *Conn) queueExpired(s *Stream) {
	for _, x := range c.ctl.expired {
		if x == s {
			return
		}
	}
	c.ctl.expired = append(c.ctl.expired, s)
}

// expireMessage gives up on a message: the sender reports it at once and
// announces it to the peer with MESSAGE_EXPIRED.
func (c *Conn) expireMessage(s *Stream, m *outMsg) {
	if m.done {
		return
	}
	seq := m.seq
	s.ms.resolve(m, true)
	s.stats.MessagesExpired++
	c.st.MessagesExpired++
	c.events.push(Event{Kind: EventMessageExpired, StreamID: s.id, Seq: seq})
	c.queueExpired(s)
	c.signalWritable(s)
}

// appendControl writes owed control frames that fit before limit.
func (c *Conn) appendControl(b []byte, limit int) []byte {
	k := &c.ctl
	fits := func(n int) bool { return len(b)+n <= limit }
	for len(k.pathResponses) > 0 && fits(9) {
		f := wire.PathResponseFrame{Data: k.pathResponses[0]}
		b = f.Append(b)
		k.pathResponses = k.pathResponses[1:]
	}
	if c.path.challengePending && fits(9) {
		f := wire.PathChallengeFrame{Data: c.path.challenge}
		b = f.Append(b)
		c.path.challengePending = false
		c.record(sentFrame{kind: fkPathChallenge})
	}
	if k.maxData && fits(9) {
		f := wire.MaxDataFrame{Max: c.recvMax}
		b = f.Append(b)
		k.maxData = false
		c.record(sentFrame{kind: fkMaxData})
	}
	if k.maxStreams && fits(9) {
		f := wire.MaxStreamsFrame{Max: c.localMaxStreams}
		b = f.Append(b)
		k.maxStreams = false
		c.record(sentFrame{kind: fkMaxStreams})
	}
	for len(k.maxStreamData) > 0 && fits(17) {
		s := k.maxStreamData[0]
		k.maxStreamData = k.maxStreamData[1:]
		s.maxDataQueued = false
		if s.removed || s.rr == nil {
			continue
		}
		f := wire.MaxStreamDataFrame{StreamID: s.id, Max: s.rr.maxData}
		b = f.Append(b)
		c.record(sentFrame{kind: fkMaxStreamData, s: s})
	}
	for len(k.resets) > 0 && fits(25) {
		s := k.resets[0]
		k.resets = k.resets[1:]
		f := wire.StreamResetFrame{StreamID: s.id, Code: uint64(s.resetCode), FinalSize: s.finalSize()}
		b = f.Append(b)
		s.resetSent = true
		c.record(sentFrame{kind: fkReset, s: s})
	}
	for len(k.expired) > 0 && fits(25) {
		s := k.expired[0]
		for len(s.ms.expired) > 0 && fits(25) {
			sp := s.ms.expired[0]
			f := wire.MessageExpiredFrame{StreamID: s.id, FirstSeq: sp.start, Count: sp.end - sp.start}
			b = f.Append(b)
			s.ms.expired = s.ms.expired[1:]
			c.record(sentFrame{kind: fkExpired, s: s, seq: sp.start, n: uint32(sp.end - sp.start)})
		}
		if len(s.ms.expired) > 0 {
			break
		}
		k.expired = k.expired[1:]
		c.maybeRemove(s)
	}
	for len(k.newCIDs) > 0 && fits(27) {
		seq := k.newCIDs[0]
		k.newCIDs = k.newCIDs[1:]
		f := wire.NewConnectionIDFrame{Seq: seq, ID: c.localCIDs[seq]}
		b = f.Append(b)
		c.record(sentFrame{kind: fkNewCID, seq: seq})
	}
	if k.ping && fits(1) {
		b = wire.AppendPing(b)
		k.ping = false
	}
	return b
}

// finalSize is what STREAM_RESET announces: the end of what was sent on a
// reliable stream, the next unused sequence on a message stream.
func (s *Stream) finalSize() uint64 {
	switch {
	case s.rs != nil:
		return s.rs.sentOff
	case s.ms != nil:
		return s.ms.nextSeq
	}
	return 0
}

func (c *Conn) record(f sentFrame) { c.frames = append(c.frames, f) }

// onPacketAcked implements recoveryHandler. wasLost: the packet had been
// declared lost (a spurious loss).
func (c *Conn) onPacketAcked(p *sentPacket, wasLost bool) {
	if p.hasAck {
		c.acks.onAckAcked(p.ackLo, p.ackHi)
	}
	if p.hasReport {
		c.fecRx.onReportAcked(p.reportLo, p.reportHi)
	}
	if p.fec != 0 {
		c.fecTx.symbolFate(p, true, wasLost)
		p.fec &^= fecHeld // its data arrived after all
	}
	for i := range p.frames {
		c.ackFrame(&p.frames[i])
	}
}

// onPacketLost implements recoveryHandler. It also runs for outstanding
// packets whose data a probe repeats; only a real loss (state pktLost)
// counts against FEC groups, and a lost source whose group may still be
// decoded keeps its message data back (see fecSend).
func (c *Conn) onPacketLost(p *sentPacket) {
	held := false
	if p.state == pktLost && p.fec != 0 {
		c.fecTx.symbolFate(p, false, false)
		held = c.fecTx.hold(p)
	}
	for i := range p.frames {
		if f := &p.frames[i]; !held || f.kind != fkMessage {
			c.loseFrame(f)
		}
	}
}

// onPacketRecovered implements recoveryHandler: the peer rebuilt the
// packet from FEC. Its MESSAGE data was delivered; anything else it
// carried was not. wasOutstanding: it had not been declared lost yet.
func (c *Conn) onPacketRecovered(p *sentPacket, wasOutstanding bool) {
	c.st.FECPeerRecovered++
	if wasOutstanding {
		c.fecTx.symbolFate(p, false, false)
	}
	p.fec &^= fecHeld
	for i := range p.frames {
		switch f := &p.frames[i]; {
		case f.kind == fkMessage:
			c.ackFrame(f)
		case wasOutstanding:
			c.loseFrame(f)
		}
	}
}

// loseMessages queues the message data of a lost packet for
// retransmission (its other frames were handled when it was lost).
func (c *Conn) loseMessages(p *sentPacket) {
	for i := range p.frames {
		if f := &p.frames[i]; f.kind == fkMessage {
			c.loseFrame(f)
		}
	}
}

// ackFrame applies the acknowledgement of one sent frame to its source.
func (c *Conn) ackFrame(f *sentFrame) {
	s := f.s
	switch f.kind {
	case fkStream:
		if s.removed {
			return
		}
		s.stats.BytesAcked += uint64(f.n)
		if s.rs.onAck(f.off, int(f.n), f.fin) {
			c.signalWritable(s)
		}
		if s.rs.done() {
			c.maybeRemove(s)
		}
	case fkMessage:
		if s.removed {
			return
		}
		s.stats.BytesAcked += uint64(f.n)
		if m := s.ms.onAck(f.seq, int(f.off), int(f.n)); m != nil {
			s.ms.resolve(m, false)
			s.stats.MessagesDelivered++
			c.st.MessagesDelivered++
			c.events.push(Event{Kind: EventMessageDelivered, StreamID: s.id, Seq: f.seq})
			c.signalWritable(s)
			c.maybeRemove(s)
		}
	case fkReset:
		s.resetAcked = true
		c.maybeRemove(s)
	}
}

// loseFrame queues a lost frame's content again, or its current value
// for control frames.
func (c *Conn) loseFrame(f *sentFrame) {
	s := f.s
	switch f.kind {
	case fkStream:
		if s.removed || s.abandoned {
			return
		}
		s.rs.onLost(f.off, int(f.n), f.fin)
		c.sched.activate(s)
	case fkMessage:
		if s.removed || s.abandoned {
			return
		}
		m, ok := s.ms.onLost(c.now, c.rec.rtt.srtt(), s.opts.Retransmit != RetransmitNever, f.seq, int(f.off), int(f.n))
		if !ok && m != nil {
			c.expireMessage(s, m)
		}
		c.sched.activate(s)
	case fkMaxData:
		c.ctl.maxData = true
	case fkMaxStreams:
		c.ctl.maxStreams = true
	case fkMaxStreamData:
		if !s.removed {
			c.queueMaxStreamData(s)
		}
	case fkReset:
		if !s.resetAcked {
			s.resetQueued = false
			c.queueReset(s)
		}
	case fkExpired:
		if !s.removed {
			s.ms.expired = append(s.ms.expired, span{f.seq, f.seq + uint64(f.n)})
			c.queueExpired(s)
		}
	case fkNewCID:
		c.ctl.newCIDs = append(c.ctl.newCIDs, f.seq)
	case fkPathChallenge:
		if !c.path.validated {
			c.path.challengePending = true
		}
	}
}
