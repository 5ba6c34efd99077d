package qrtp

import (
	"io"
	"time"
)

// Stream IDs carry who opened the stream and its mode, so the first frame
// tells the receiver everything it needs:
//
//	id = sequence << 3 | mode << 1 | opener   (opener 0: initiator, 1: responder)
func streamID(seq uint64, mode Mode, responder bool) uint64 {
	id := seq<<3 | uint64(mode)<<1
	if responder {
		id |= 1
	}
	return id
}

func streamMode(id uint64) Mode        { return Mode(id >> 1 & 3) }
func streamSeq(id uint64) uint64       { return id >> 3 }
func streamByResponder(id uint64) bool { return id&1 == 1 }

// Stream is one bidirectional stream of a connection. Its methods never
// block: writes queue up to the send buffer and reads return what arrived.
// Like the Conn, it is not safe for concurrent use.
type Stream struct {
	c     *Conn
	id    uint64
	opts  StreamOptions
	local bool // opened by this side

	// Exactly one pair is set, by mode.
	rs *relSend
	rr *relRecv
	ms *msgSend
	mr *msgRecv
	ds *dgSend
	dr *dgRecv

	// Scheduler membership (intrusive ring per priority level).
	active      bool
	deficit     int
	prev, next  *Stream
	connBlocked bool // waiting for connection-level flow control credit

	// Control frames owed for this stream.
	maxDataQueued bool
	resetQueued   bool

	sendClosed bool // Close or Reset called
	abandoned  bool // Reset called: queued data is dropped
	resetCode  ErrorCode
	// peerReset is the code of the peer's STREAM_RESET on a message or
	// datagram stream (0 for a plain close): RecvErr reports it.
	peerReset    ErrorCode
	resetSent    bool
	resetAcked   bool
	readSignaled bool
	writeBlocked bool
	removed      bool
	stats        StreamStats
}

// ID is the stream's identifier.
func (s *Stream) ID() uint64 { return s.id }

// Mode is the stream's delivery mode.
func (s *Stream) Mode() Mode { return s.opts.Mode }

// Options are the stream's effective options.
func (s *Stream) Options() StreamOptions { return s.opts }

// SetPriority changes the stream's scheduling level (1..8) from now on.
func (s *Stream) SetPriority(p Priority) {
	s.c.touch()
	if p < 1 || p > PriorityLowest || p == s.opts.Priority {
		return
	}
	wasActive := s.active
	s.c.sched.deactivate(s)
	s.opts.Priority = p
	if wasActive {
		s.c.sched.activate(s)
	}
}

// SetRedundant turns StreamOptions.Redundant on or off for the data
// written from now on, on a stream the peer opened as on one of ours.
func (s *Stream) SetRedundant(on bool) {
	s.c.touch()
	s.opts.Redundant = on
}

// SetFECLatency changes StreamOptions.FECLatency for the messages sent from
// now on (a latency target that follows the path's RTT as it changes).
func (s *Stream) SetFECLatency(d time.Duration) {
	s.c.touch()
	s.opts.FECLatency = max(d, 0)
}

// Write queues bytes on a reliable stream. It copies as much as the send
// buffer admits and returns ErrBufferFull with a short count when it is
// full; EventStreamWritable says when to try again.
func (s *Stream) Write(p []byte) (int, error) {
	s.c.touch()
	if s.rs == nil {
		return 0, ErrWrongMode
	}
	if err := s.c.usable(); err != nil {
		return 0, err
	}
	if s.sendClosed {
		return 0, ErrStreamClosed
	}
	n := s.rs.write(p)
	if n > 0 {
		s.c.sched.activate(s)
	}
	if n < len(p) {
		s.writeBlocked = true
		return n, ErrBufferFull
	}
	return n, nil
}

// Read reads ordered bytes from a reliable stream. It returns 0, nil when
// nothing is available yet, io.EOF after the peer's end of stream, and a
// *StreamResetError if the peer reset the stream.
func (s *Stream) Read(p []byte) (int, error) {
	s.c.touch()
	if s.rr == nil {
		return 0, ErrWrongMode
	}
	s.readSignaled = false
	n, err := s.rr.read(p)
	if n > 0 {
		s.stats.BytesRead += uint64(n)
		s.c.onStreamRead(s, n)
	}
	if err == io.EOF || isReset(err) {
		s.c.maybeRemove(s)
	}
	return n, err
}

// SendMessage queues one message on a message stream. It is delivered
// whole or not at all, before deadline (the zero time means now plus the
// stream's Deadline). It returns the message's sequence number.
func (s *Stream) SendMessage(now time.Time, p []byte, deadline time.Time) (uint64, error) {
	return s.sendMessage(now, p, deadline, false)
}

// SendMessageMore is SendMessage for a message that more messages of the
// same unit follow at once, such as the RTP packets of one video frame.
// FEC seals its groups at the end of each message, since a message is
// what the application waits for; a unit sent as one message per packet
// would get a group per packet, every repair a copy of its packet. Sent
// with SendMessageMore, the unit's messages share groups as if they were
// one message: the group is sealed after the next message sent with
// SendMessage, when full, or after the policy's group delay (at most
// 40 ms) if the end never comes. Delivery is unchanged: each message is
// still delivered on its own, as soon as it is complete.
func (s *Stream) SendMessageMore(now time.Time, p []byte, deadline time.Time) (uint64, error) {
	return s.sendMessage(now, p, deadline, true)
}

func (s *Stream) sendMessage(now time.Time, p []byte, deadline time.Time, more bool) (uint64, error) {
	s.c.touch()
	if s.ms == nil {
		return 0, ErrWrongMode
	}
	if err := s.c.usable(); err != nil {
		return 0, err
	}
	if s.sendClosed {
		return 0, ErrStreamClosed
	}
	if len(p) > s.c.cfg.MaxMessageSize {
		return 0, ErrTooLarge
	}
	if deadline.IsZero() {
		deadline = now.Add(s.opts.Deadline)
	}
	seq, err := s.ms.push(p, deadline, more)
	if err != nil {
		s.writeBlocked = true
		return 0, err
	}
	s.stats.MessagesSent++
	s.c.st.MessagesSent++
	lifetime := deadline.Sub(now)
	if s.opts.FECLatency > 0 {
		lifetime = min(lifetime, s.opts.FECLatency)
	}
	s.c.fecTx.noteMessage(lifetime, s.opts.FECBudget)
	s.c.sched.activate(s)
	return seq, nil
}

// Message is one received message.
type Message struct {
	Seq  uint64
	Data []byte
}

// ReadMessage returns the next complete message, in completion order (a
// late message does not hold back later ones). ok is false when none is
// waiting. Data belongs to the caller.
func (s *Stream) ReadMessage() (m Message, ok bool) {
	if s.mr == nil {
		return Message{}, false
	}
	s.readSignaled = false
	m, ok = s.mr.pop()
	if ok {
		s.c.msgBuffered -= len(m.Data)
	}
	return m, ok
}

// RecvErr says whether anything more can be read from a message or
// datagram stream: nil while it can; io.EOF once the peer closed the
// stream and everything before its end has been read (messages lost on
// the way count as expired); a *StreamResetError if the peer reset it.
// EventStreamReadable is raised when it changes. Reliable streams report
// their end through Read.
func (s *Stream) RecvErr() error {
	switch {
	case s.mr != nil && s.mr.hasFinal && s.peerReset != 0:
		return &StreamResetError{Code: s.peerReset}
	case s.mr != nil && s.mr.done():
		return io.EOF
	case s.dr != nil && s.dr.closed && s.peerReset != 0:
		return &StreamResetError{Code: s.peerReset}
	case s.dr != nil && s.dr.closed && len(s.dr.q) == 0:
		return io.EOF
	}
	return nil
}

// SendDatagram queues one unreliable datagram. It is sent at most once and
// dropped if it waited longer than the stream's Deadline.
func (s *Stream) SendDatagram(now time.Time, p []byte) error {
	s.c.touch()
	if s.ds == nil {
		return ErrWrongMode
	}
	if err := s.c.usable(); err != nil {
		return err
	}
	if s.sendClosed {
		return ErrStreamClosed
	}
	if len(p) > s.c.maxFramePayload()-16 {
		return ErrTooLarge
	}
	if !s.ds.push(p, now.Add(s.opts.Deadline)) {
		s.stats.DatagramsDropped++
		s.c.st.DatagramsDropped++
		return ErrBufferFull
	}
	s.c.sched.activate(s)
	return nil
}

// ReadDatagram returns the next received datagram; ok is false when none
// is waiting. The slice belongs to the caller.
func (s *Stream) ReadDatagram() (b []byte, ok bool) {
	if s.dr == nil {
		return nil, false
	}
	s.readSignaled = false
	return s.dr.pop()
}

// Close ends the sending half: a FIN after the queued bytes of a reliable
// stream; on message and datagram streams, no new messages (queued ones
// are still delivered or expire).
func (s *Stream) Close() error {
	s.c.touch()
	if s.sendClosed {
		return nil
	}
	s.sendClosed = true
	switch {
	case s.rs != nil:
		s.rs.finWanted = true
		s.c.sched.activate(s)
	default:
		s.c.queueReset(s)
	}
	s.c.maybeRemove(s)
	return nil
}

// Reset abandons the sending half with an application error code: queued
// and unacknowledged data is dropped and the peer's reads fail.
func (s *Stream) Reset(code ErrorCode) {
	s.c.touch()
	if s.sendClosed && s.resetQueued {
		return
	}
	s.sendClosed, s.abandoned = true, true
	s.resetCode = code
	if s.rs != nil {
		s.rs.abandon()
	}
	if s.ms != nil {
		s.ms.abandon()
	}
	if s.ds != nil {
		s.ds.q = s.ds.q[:0]
	}
	s.c.sched.deactivate(s)
	s.c.queueReset(s)
}

// Stats returns a snapshot of the stream's counters.
func (s *Stream) Stats() StreamStats {
	st := s.stats
	st.ID, st.Mode, st.Priority = s.id, s.opts.Mode, s.opts.Priority
	switch {
	case s.rs != nil:
		st.SendBuffered = int(s.rs.writeOff - s.rs.ring.base)
		st.ReceiveBuffered = s.rr.buffered()
	case s.ms != nil:
		st.SendBuffered = s.ms.queued
		st.ReceiveBuffered = s.mr.buffered
	case s.ds != nil:
		st.SendBuffered = s.ds.bytes
		st.ReceiveBuffered = s.dr.bytes
	}
	return st
}

// hasSendable reports whether the scheduler should visit the stream.
func (s *Stream) hasSendable() bool {
	switch {
	case s.rs != nil:
		return s.rs.hasSendable()
	case s.ms != nil:
		return s.ms.hasSendable()
	case s.ds != nil:
		return len(s.ds.q) > 0
	}
	return false
}

// sendDone reports whether the sending half is finished and resolved.
func (s *Stream) sendDone() bool {
	if !s.sendClosed {
		return false
	}
	if s.resetSent || s.resetQueued {
		if !s.resetAcked {
			return false
		}
		if s.ms != nil {
			return len(s.ms.q) == 0 && len(s.ms.expired) == 0
		}
		return true
	}
	if s.rs != nil {
		return s.rs.done()
	}
	return false
}

// recvDone reports whether the receiving half is finished and read.
func (s *Stream) recvDone() bool {
	switch {
	case s.rr != nil:
		return s.rr.done()
	case s.mr != nil:
		return s.mr.done()
	case s.dr != nil:
		return s.dr.closed && len(s.dr.q) == 0
	}
	return true
}

func isReset(err error) bool {
	_, ok := err.(*StreamResetError)
	return ok
}
