package qrtp

import (
	"net/netip"
	"time"

	"github.com/qrtn/qrtn/qrtp/wire"
)

// handleShort authenticates and processes one short-header packet.
func (c *Conn) handleShort(now time.Time, from netip.AddrPort, b []byte, hdr *wire.ShortHeader) {
	c.now = now
	if !c.keys.ready() || c.state >= stateDraining {
		return
	}
	pn := wire.DecodePacketNumber(c.largestRecv, c.anyRecv, hdr.TruncatedPN, hdr.PNLen)
	if c.replay.Seen(pn) {
		c.st.Duplicates++
		return
	}
	pt, err := c.keys.open(c.ep.recvBuf[:0], b[:hdr.Len], b[hdr.Len:], pn, hdr.KeyPhase)
	if err != nil {
		c.st.DecryptFailures++
		c.ep.st.DecryptFailures++
		return
	}
	c.replay.Mark(pn)
	newest := !c.anyRecv || pn > c.largestRecv
	if newest && c.anyRecv && pn > c.largestRecv+1 {
		c.fecRx.lastGap = now // a loss (or reordering): keep FEC sources
	}
	if newest {
		c.largestRecv, c.anyRecv = pn, true
	}
	c.st.PacketsReceived++
	c.st.BytesReceived += uint64(len(b))
	c.lastRecv = now
	c.onPathPacket(now, from, len(b), newest)
	if c.state == stateResponding {
		c.confirm(now)
	}
	if c.state == stateClosing {
		c.closeResend = true
		return
	}
	c.fecRx.begin()
	eliciting, err := c.processFrames(now, pt)
	if err == nil {
		err = c.fecRx.end(now, c, pn)
	}
	if err != nil {
		c.closeWithError(err)
		return
	}
	c.acks.onReceived(now, pn, eliciting, c.ackDelay())
}

// ackDelay is how long we may hold an ACK: the configured maximum, but at
// most a quarter RTT so feedback stays timely on short paths.
func (c *Conn) ackDelay() time.Duration {
	d := c.cfg.MaxAckDelay
	if c.rec.rtt.hasSample {
		d = min(d, c.rec.rtt.smoothed/4)
	}
	return max(d, timerGranularity)
}

// processFrames handles the frames of one authenticated payload and
// reports whether any of them asks for an acknowledgement.
func (c *Conn) processFrames(now time.Time, pt []byte) (bool, error) {
	f := &c.ep.frame
	eliciting := false
	for len(pt) > 0 {
		n, err := wire.ParseFrame(pt, f)
		if err != nil {
			c.st.Malformed++
			return eliciting, protoErr(CodeFrameEncoding, "bad frame: %v", err)
		}
		if f.Type == wire.FrameMessage {
			c.fecRx.message(pt[:n]) // a possible FEC source symbol
		}
		pt = pt[n:]
		if f.Type.AckEliciting() {
			eliciting = true
		}
		if err := c.handleFrame(now, f); err != nil {
			return eliciting, err
		}
		if c.state >= stateDraining {
			break
		}
	}
	return eliciting, nil
}

func (c *Conn) handleFrame(now time.Time, f *wire.Frame) error {
	switch f.Type {
	case wire.FramePadding, wire.FramePing:
	case wire.FrameAck:
		if err := c.rec.onAck(now, &f.Ack, c); err != nil {
			return err
		}
		c.fecTx.settle(c)
	case wire.FrameStream:
		return c.onStreamFrame(&f.Stream)
	case wire.FrameMessage:
		return c.onMessageFrame(&f.Message)
	case wire.FrameMessageExpired:
		return c.onMessageExpired(&f.MessageExpired)
	case wire.FrameDatagram:
		return c.onDatagramFrame(&f.Datagram)
	case wire.FrameMaxData:
		c.onMaxData(f.MaxData.Max)
	case wire.FrameMaxStreamData:
		return c.onMaxStreamData(f.MaxStreamData.StreamID, f.MaxStreamData.Max)
	case wire.FrameMaxStreams:
		if f.MaxStreams.Max > c.peerMaxStreams {
			c.peerMaxStreams = f.MaxStreams.Max
			if c.streamsBlocked {
				c.streamsBlocked = false
				c.events.push(Event{Kind: EventStreamsAvailable})
			}
		}
	case wire.FrameStreamReset:
		return c.onStreamReset(&f.StreamReset)
	case wire.FrameConnectionClose:
		c.onPeerClose(f.Close.Code, f.Close.Reason)
	case wire.FrameNewConnectionID:
		if len(c.spareCIDs) < 4 {
			c.spareCIDs = append(c.spareCIDs, f.NewConnectionID.ID)
		}
	case wire.FramePathChallenge:
		if len(c.ctl.pathResponses) < maxPathResponses {
			c.ctl.pathResponses = append(c.ctl.pathResponses, f.PathChallenge.Data)
		}
	case wire.FramePathResponse:
		c.onPathResponse(f.PathResponse.Data)
	case wire.FrameFECRepair:
		return c.fecRx.onRepair(now, c, &f.FECRepair)
	case wire.FrameFECRecovered:
		c.rec.onRecovered(now, f.FECRecovered.Packets, c)
		c.fecTx.settle(c)
	}
	return nil
}

func (c *Conn) onStreamFrame(f *wire.StreamFrame) error {
	s, err := c.streamFor(f.StreamID)
	if s == nil || err != nil {
		return err
	}
	if s.rr == nil {
		return protoErr(CodeProtocolViolation, "STREAM frame on %s stream %d", s.opts.Mode, s.id)
	}
	grew, readable, err := s.rr.onData(f.Offset, f.Data, f.Fin)
	if err != nil {
		return err
	}
	if s.rr.grown {
		s.rr.grown = false
		c.queueMaxStreamData(s)
	}
	if err := c.addRecvHighest(grew, s.rr.holed()); err != nil {
		return err
	}
	s.stats.BytesReceived += uint64(len(f.Data))
	if readable {
		c.signalReadable(s)
	}
	return nil
}

// addRecvHighest accounts received stream data against the connection
// window; holed says the stream it arrived on waits on a retransmission.
func (c *Conn) addRecvHighest(grew uint64, holed bool) error {
	c.recvHighest += grew
	if c.recvHighest > c.recvMax {
		return protoErr(CodeFlowControl, "connection data %d beyond limit %d", c.recvHighest, c.recvMax)
	}
	if maxWin := uint64(c.cfg.MaxConnReceiveWindow); holed && c.recvHighest+c.recvWindow/8 >= c.recvMax && c.recvWindow < maxWin {
		// As for streams: the peer nearly used all its credit, so the
		// window is what limits it; grow it without waiting for reads.
		c.recvWindow = min(2*c.recvWindow, maxWin)
		c.recvMax = max(c.recvMax, c.recvConsumed+c.recvWindow)
		c.ctl.maxData = true
	}
	return nil
}

func (c *Conn) onMessageFrame(f *wire.MessageFrame) error {
	s, err := c.streamFor(f.StreamID)
	if s == nil || err != nil {
		return err
	}
	if s.mr == nil {
		return protoErr(CodeProtocolViolation, "MESSAGE frame on %s stream %d", s.opts.Mode, s.id)
	}
	if f.Total > uint64(c.cfg.MaxMessageSize) {
		return protoErr(CodeMessageTooLarge, "message of %d bytes exceeds %d", f.Total, c.cfg.MaxMessageSize)
	}
	s.stats.BytesReceived += uint64(len(f.Data))
	grew, complete := s.mr.onFragment(f.Seq, f.Total, f.Offset, f.Data, c.cfg.ConnMessageBuffer-c.msgBuffered)
	c.msgBuffered += grew
	s.stats.MessagesDropped = s.mr.dropped
	if complete {
		s.stats.MessagesReceived++
		c.st.MessagesReceived++
		c.signalReadable(s)
	}
	return nil
}

func (c *Conn) onMessageExpired(f *wire.MessageExpiredFrame) error {
	s, err := c.streamFor(f.StreamID)
	if s == nil || err != nil {
		return err
	}
	if s.mr == nil {
		return protoErr(CodeProtocolViolation, "MESSAGE_EXPIRED on %s stream %d", s.opts.Mode, s.id)
	}
	c.msgBuffered -= s.mr.onExpired(f.FirstSeq, f.Count, func(seq uint64) {
		s.stats.MessagesExpiredByPeer++
		c.st.MessagesExpiredByPeer++
		c.events.push(Event{Kind: EventMessageExpired, StreamID: s.id, Seq: seq})
	})
	if s.mr.done() {
		c.signalReadable(s) // the last gap before the end is resolved
	}
	c.maybeRemove(s)
	return nil
}

func (c *Conn) onDatagramFrame(f *wire.DatagramFrame) error {
	s, err := c.streamFor(f.StreamID)
	if s == nil || err != nil {
		return err
	}
	if s.dr == nil {
		return protoErr(CodeProtocolViolation, "DATAGRAM frame on %s stream %d", s.opts.Mode, s.id)
	}
	if !s.dr.push(f.Data) {
		s.stats.DatagramsDropped++
		c.st.DatagramsDropped++
		return nil
	}
	s.stats.DatagramsReceived++
	s.stats.BytesReceived += uint64(len(f.Data))
	c.st.DatagramsReceived++
	c.signalReadable(s)
	return nil
}

func (c *Conn) onMaxData(v uint64) {
	if v <= c.sendMax {
		return
	}
	c.sendMax = v
	for _, s := range c.blockedOnConn {
		s.connBlocked = false
		c.sched.activate(s)
	}
	c.blockedOnConn = c.blockedOnConn[:0]
}

func (c *Conn) onMaxStreamData(id, v uint64) error {
	s, err := c.streamFor(id)
	if s == nil || err != nil {
		return err
	}
	if s.rs == nil {
		return protoErr(CodeProtocolViolation, "MAX_STREAM_DATA on %s stream %d", s.opts.Mode, s.id)
	}
	if v > s.rs.maxData {
		s.rs.maxData = v
		c.sched.activate(s)
	}
	return nil
}

func (c *Conn) onStreamReset(f *wire.StreamResetFrame) error {
	s, err := c.streamFor(f.StreamID)
	if s == nil || err != nil {
		return err
	}
	switch {
	case s.rr != nil:
		wasReset := s.rr.reset != nil
		grew, err := s.rr.onReset(ErrorCode(f.Code), f.FinalSize)
		if err != nil {
			return err
		}
		if err := c.addRecvHighest(grew, false); err != nil {
			return err
		}
		if !wasReset {
			c.events.push(Event{Kind: EventStreamReset, StreamID: s.id})
			c.signalReadable(s)
		}
	case s.mr != nil:
		if !s.mr.hasFinal {
			s.mr.final, s.mr.hasFinal = f.FinalSize, true
			s.peerReset = ErrorCode(f.Code)
			if f.Code != 0 {
				c.msgBuffered -= s.mr.abandon()
				c.events.push(Event{Kind: EventStreamReset, StreamID: s.id})
			}
			c.signalReadable(s)
		}
	case s.dr != nil:
		if !s.dr.closed {
			s.dr.closed = true
			s.peerReset = ErrorCode(f.Code)
			c.signalReadable(s)
		}
	}
	c.maybeRemove(s)
	return nil
}
