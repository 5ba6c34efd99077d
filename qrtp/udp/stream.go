package udp

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// maxWriteHold bounds the bytes one Write copies into the core per turn
// of the transport's lock.
const maxWriteHold = 256 << 10

// maxOutcomes bounds the message outcomes a stream keeps for
// MessageOutcomes; older ones are dropped first and counted.
const maxOutcomes = 4096

// MessageOutcome is what became of one message: Delivered at the sender
// when the peer acknowledged all of it, Expired at either end when it
// missed its deadline and was dropped.
type MessageOutcome struct {
	Seq     uint64
	Expired bool
}

// Stream is one stream of a Conn. A reliable stream is an
// io.ReadWriteCloser whose Read and Write block, bounded by deadlines set
// as on a net.Conn; message and datagram streams have their own methods.
// Its methods are safe for concurrent use, though concurrent Reads (or
// Writes) interleave unpredictably, as on any stream.
type Stream struct {
	c    *Conn
	qs   *qrtp.Stream
	id   uint64
	mode qrtp.Mode

	readCh, writeCh chan struct{} // cap 1

	// Guarded by c.t.mu.
	outcomes        []MessageOutcome
	outcomesDropped uint64

	dl                          sync.Mutex
	readDeadline, writeDeadline time.Time
}

func newStream(c *Conn, qs *qrtp.Stream) *Stream {
	return &Stream{
		c: c, qs: qs, id: qs.ID(), mode: qs.Mode(),
		readCh:  make(chan struct{}, 1),
		writeCh: make(chan struct{}, 1),
	}
}

// onEvent records one core event. Called with t.mu held.
func (s *Stream) onEvent(ev qrtp.Event) {
	switch ev.Kind {
	case qrtp.EventStreamReadable, qrtp.EventStreamReset:
		signal(s.readCh)
	case qrtp.EventStreamWritable:
		signal(s.writeCh)
	case qrtp.EventMessageDelivered, qrtp.EventMessageExpired:
		if len(s.outcomes) >= maxOutcomes {
			n := copy(s.outcomes, s.outcomes[1:])
			s.outcomes = s.outcomes[:n]
			s.outcomesDropped++
		}
		s.outcomes = append(s.outcomes, MessageOutcome{Seq: ev.Seq, Expired: ev.Kind == qrtp.EventMessageExpired})
	}
}

// ID is the stream's identifier.
func (s *Stream) ID() uint64 { return s.id }

// Mode is the stream's delivery mode.
func (s *Stream) Mode() qrtp.Mode { return s.mode }

// Conn is the connection the stream belongs to.
func (s *Stream) Conn() *Conn { return s.c }

// Read reads ordered bytes from a reliable stream, waiting until some
// arrive. It returns io.EOF after the peer's end of stream, a
// *qrtp.StreamResetError if the peer reset it, os.ErrDeadlineExceeded
// after the read deadline, and the connection's error once it has ended.
func (s *Stream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t := s.c.t
	for {
		t.mu.Lock()
		n, err := s.qs.Read(p)
		cerr := s.c.err
		t.mu.Unlock()
		if n > 0 {
			t.wakeLoop() // reading may have freed flow-control credit to announce
			return n, err
		}
		if err != nil {
			return 0, s.opErr(err)
		}
		if cerr != nil {
			return 0, cerr
		}
		if err := s.wait(context.Background(), s.readCh, s.deadline(true)); err != nil {
			return 0, err
		}
	}
}

// Write queues all of p on a reliable stream, waiting for send-buffer
// space as needed. It returns early only on an error: the write deadline,
// the stream's or the connection's end.
func (s *Stream) Write(p []byte) (int, error) {
	t := s.c.t
	written := 0
	for {
		// Copy at most maxWriteHold per turn of the lock, so a large
		// write does not hold off the reader and the loop.
		end := min(len(p), written+maxWriteHold)
		t.mu.Lock()
		n, err := s.qs.Write(p[written:end])
		t.mu.Unlock()
		written += n
		if n > 0 {
			t.wakeLoop()
		}
		if written == len(p) {
			return written, nil
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, qrtp.ErrBufferFull) {
			return written, s.opErr(err)
		}
		if err := s.wait(context.Background(), s.writeCh, s.deadline(false)); err != nil {
			return written, err
		}
	}
}

// Close ends the sending half: a reliable stream sends its end after the
// queued bytes; message and datagram streams take no new messages.
func (s *Stream) Close() error {
	s.c.t.mu.Lock()
	err := s.qs.Close()
	s.c.t.mu.Unlock()
	s.c.t.wakeLoop()
	return err
}

// Reset abandons the sending half with an application error code.
func (s *Stream) Reset(code qrtp.ErrorCode) {
	s.c.t.mu.Lock()
	s.qs.Reset(code)
	s.c.t.mu.Unlock()
	s.c.t.wakeLoop()
}

// SetPriority changes the stream's scheduling level (1..8) from now on.
func (s *Stream) SetPriority(p qrtp.Priority) {
	s.c.t.mu.Lock()
	s.qs.SetPriority(p)
	s.c.t.mu.Unlock()
}

// Stats returns a snapshot of the stream's counters.
func (s *Stream) Stats() qrtp.StreamStats {
	s.c.t.mu.Lock()
	defer s.c.t.mu.Unlock()
	return s.qs.Stats()
}

// SendMessage queues one message on a message stream, to be delivered
// whole before deadline or dropped (the zero deadline means now plus the
// stream's default Deadline). It never blocks: a full send buffer returns
// qrtp.ErrBufferFull, as real-time media should rather drop a frame than
// queue it late. It returns the message's sequence number.
func (s *Stream) SendMessage(p []byte, deadline time.Time) (uint64, error) {
	t := s.c.t
	t.mu.Lock()
	seq, err := s.qs.SendMessage(t.clock(time.Now()), p, deadline)
	t.mu.Unlock()
	if err != nil {
		return 0, s.opErr(err)
	}
	t.wakeLoop()
	return seq, nil
}

// ReceiveMessage waits for the next complete message, in completion order.
// It returns io.EOF once the peer closed the stream and every message
// before its end was delivered or expired, and a *qrtp.StreamResetError if
// the peer reset it.
func (s *Stream) ReceiveMessage(ctx context.Context) (qrtp.Message, error) {
	return receive(ctx, s, s.qs.ReadMessage)
}

// receive waits until pop yields, the stream has ended (io.EOF) or the
// connection has.
func receive[T any](ctx context.Context, s *Stream, pop func() (T, bool)) (T, error) {
	t := s.c.t
	var zero T
	for {
		t.mu.Lock()
		v, ok := pop()
		var end error
		if !ok {
			if end = s.qs.RecvErr(); end == nil && s.c.qc.Stream(s.id) == nil {
				end = io.EOF
			}
		}
		cerr := s.c.err
		t.mu.Unlock()
		switch {
		case ok:
			return v, nil
		case cerr != nil:
			return zero, cerr
		case end != nil:
			return zero, end
		}
		if err := s.wait(ctx, s.readCh, s.deadline(true)); err != nil {
			return zero, err
		}
	}
}

// MessageOutcomes appends the delivered and expired reports gathered
// since the last call to dst, and forgets them. dropped counts reports
// lost because more than 4096 were waiting.
func (s *Stream) MessageOutcomes(dst []MessageOutcome) (out []MessageOutcome, dropped uint64) {
	s.c.t.mu.Lock()
	defer s.c.t.mu.Unlock()
	dst = append(dst, s.outcomes...)
	s.outcomes = s.outcomes[:0]
	dropped, s.outcomesDropped = s.outcomesDropped, 0
	return dst, dropped
}

// SendDatagram queues one unreliable datagram on a datagram stream. It
// never blocks; a full queue returns qrtp.ErrBufferFull.
func (s *Stream) SendDatagram(p []byte) error {
	t := s.c.t
	t.mu.Lock()
	err := s.qs.SendDatagram(t.clock(time.Now()), p)
	t.mu.Unlock()
	if err != nil {
		return s.opErr(err)
	}
	t.wakeLoop()
	return nil
}

// ReceiveDatagram waits for the next datagram on a datagram stream.
func (s *Stream) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return receive(ctx, s, s.qs.ReadDatagram)
}

// SetDeadline sets both the read and the write deadline.
func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline bounds Read, ReceiveMessage and ReceiveDatagram,
// including calls already waiting; the zero time means no deadline.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.dl.Lock()
	s.readDeadline = t
	s.dl.Unlock()
	signal(s.readCh) // waiting callers re-read the deadline
	return nil
}

// SetWriteDeadline bounds Write, including a call already waiting.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.dl.Lock()
	s.writeDeadline = t
	s.dl.Unlock()
	signal(s.writeCh)
	return nil
}

func (s *Stream) deadline(read bool) time.Time {
	s.dl.Lock()
	defer s.dl.Unlock()
	if read {
		return s.readDeadline
	}
	return s.writeDeadline
}

// wait blocks until ch is signalled or the connection ends (the caller
// then looks again), or fails when the deadline passes or ctx is done.
func (s *Stream) wait(ctx context.Context, ch chan struct{}, deadline time.Time) error {
	var expire <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		expire = timer.C
	}
	var cancel <-chan struct{}
	if ctx != nil {
		cancel = ctx.Done()
	}
	select {
	case <-ch:
		return nil
	case <-s.c.done:
		return nil
	case <-expire:
		return os.ErrDeadlineExceeded
	case <-cancel:
		return ctx.Err()
	}
}

// opErr prefers the connection's own error (with its explanation) to the
// core's terse one once the connection has ended.
func (s *Stream) opErr(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	s.c.t.mu.Lock()
	cerr := s.c.err
	s.c.t.mu.Unlock()
	if cerr != nil {
		return cerr
	}
	return err
}
