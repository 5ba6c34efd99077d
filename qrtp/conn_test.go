package qrtp

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/wire"
)

// settle exchanges until nothing moves (or n rounds).
func (p *pair) settle(n int) {
	for i := 0; i < n; i++ {
		p.exchange()
	}
}

func frames(fs ...wire.Frame) []byte {
	var b []byte
	for i := range fs {
		b = fs[i].Append(b)
	}
	return b
}

func closeCode(t *testing.T, c *Conn) ErrorCode {
	t.Helper()
	var ce *CloseError
	if !errors.As(c.Err(), &ce) {
		t.Fatalf("connection not closed with a CloseError: %v", c.Err())
	}
	return ce.Code
}

func TestPeerStreamLimitEnforced(t *testing.T) {
	p := newPair(t, 10)
	limit := p.sc.localMaxStreams
	id := streamID(limit, ModeReliable, false) // one past what the server allows
	_, err := p.sc.processFrames(p.now, frames(wire.Frame{Type: wire.FrameStream, Stream: wire.StreamFrame{StreamID: id, Data: []byte("x")}}))
	var pe *protocolError
	if !errors.As(err, &pe) || pe.code != CodeStreamLimit {
		t.Fatalf("err %v", err)
	}
	p.sc.closeWithError(err)
	p.settle(3)
	if code := closeCode(t, p.cc); code != CodeStreamLimit {
		t.Fatalf("client saw code %#x", code)
	}
}

func TestFlowControlEnforced(t *testing.T) {
	p := newPair(t, 11)
	id := streamID(0, ModeReliable, false)
	s, err := p.sc.streamFor(id)
	if err != nil || s == nil {
		t.Fatal(err)
	}
	beyond := s.rr.maxData
	_, err = p.sc.processFrames(p.now, frames(wire.Frame{Type: wire.FrameStream, Stream: wire.StreamFrame{StreamID: id, Offset: beyond, Data: []byte("x")}}))
	var pe *protocolError
	if !errors.As(err, &pe) || pe.code != CodeFlowControl {
		t.Fatalf("stream window: %v", err)
	}
	// A message larger than MaxMessageSize is refused.
	mid := streamID(1, ModeMessage, false)
	_, err = p.sc.processFrames(p.now, frames(wire.Frame{Type: wire.FrameMessage, Message: wire.MessageFrame{StreamID: mid, Total: uint64(p.sc.cfg.MaxMessageSize) + 1}}))
	if !errors.As(err, &pe) || pe.code != CodeMessageTooLarge {
		t.Fatalf("message size: %v", err)
	}
}

// TestSenderRespectsWindows: a writer far ahead of a reader that does not
// read stops at the receiver's windows (memory stays bounded) and resumes
// when the reader drains.
func TestSenderRespectsWindows(t *testing.T) {
	p := newPair(t, 12)
	s, _ := p.cc.OpenStream(StreamOptions{SendBuffer: 64 << 20})
	data := make([]byte, 8<<20)
	n, _ := s.Write(data)
	p.settle(200)
	rs := p.sc.AcceptStream()
	if rs == nil {
		t.Fatal("no stream")
	}
	if got := rs.rr.highest; got > rs.rr.maxData || got > uint64(p.sc.cfg.MaxStreamReceiveWindow) {
		t.Fatalf("received %d beyond window %d", got, rs.rr.maxData)
	}
	if rs.rr.highest == uint64(n) {
		t.Fatal("everything arrived without reading: windows not applied")
	}
	buf := make([]byte, 1<<20)
	total := 0
	for i := 0; i < 5000 && total < n; i++ {
		k, err := rs.Read(buf)
		total += k
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if k == 0 {
			p.exchange()
		}
	}
	if total != n {
		t.Fatalf("read %d of %d", total, n)
	}
}

// TestStreamLifecycle: closing both halves forgets the stream on both
// sides and returns the slot to the opener with MAX_STREAMS.
func TestStreamLifecycle(t *testing.T) {
	p := newPair(t, 13)
	before := p.cc.peerMaxStreams
	s, _ := p.cc.OpenStream(StreamOptions{})
	s.Write([]byte("ping"))
	s.Close()
	p.settle(5)
	rs := p.sc.AcceptStream()
	buf := make([]byte, 16)
	n, err := rs.Read(buf)
	if string(buf[:n]) != "ping" || err != io.EOF {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	rs.Write([]byte("pong"))
	rs.Close()
	p.settle(5)
	n, err = s.Read(buf)
	if string(buf[:n]) != "pong" || err != io.EOF {
		t.Fatalf("reply %q %v", buf[:n], err)
	}
	p.settle(5)
	if len(p.cc.streams) != 0 || len(p.sc.streams) != 0 {
		t.Fatalf("streams left: client %d server %d", len(p.cc.streams), len(p.sc.streams))
	}
	if p.cc.peerMaxStreams != before+1 {
		t.Fatalf("peer max streams %d, want %d", p.cc.peerMaxStreams, before+1)
	}
}

func TestStreamReset(t *testing.T) {
	p := newPair(t, 14)
	s, _ := p.cc.OpenStream(StreamOptions{})
	s.Write(make([]byte, 100000))
	p.exchange()
	s.Reset(CodeApplication + 7)
	p.settle(10)
	rs := p.sc.AcceptStream()
	_, err := rs.Read(make([]byte, 10))
	var re *StreamResetError
	if !errors.As(err, &re) || re.Code != CodeApplication+7 {
		t.Fatalf("read after reset: %v", err)
	}
	if _, err := s.Write([]byte("more")); err != ErrStreamClosed {
		t.Fatalf("write after reset: %v", err)
	}
	reset := false
	for _, ev := range drain(p.sc) {
		reset = reset || ev.Kind == EventStreamReset
	}
	if !reset {
		t.Fatal("no reset event")
	}
}

func drain(c *Conn) []Event {
	var evs []Event
	for ev, ok := c.PollEvent(); ok; ev, ok = c.PollEvent() {
		evs = append(evs, ev)
	}
	return evs
}

func TestDatagrams(t *testing.T) {
	p := newPair(t, 15)
	s, _ := p.cc.OpenStream(StreamOptions{Mode: ModeDatagram, Deadline: time.Second})
	for i := 0; i < 10; i++ {
		if err := s.SendDatagram(p.now, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SendDatagram(p.now, make([]byte, 2000)); err != ErrTooLarge {
		t.Fatalf("oversize datagram: %v", err)
	}
	p.settle(3)
	rs := p.sc.AcceptStream()
	for i := 0; i < 10; i++ {
		b, ok := rs.ReadDatagram()
		if !ok || len(b) != 1 || b[0] != byte(i) {
			t.Fatalf("datagram %d: %v %v", i, b, ok)
		}
	}
	// Datagrams that waited past their deadline are dropped, not sent.
	s2, _ := p.cc.OpenStream(StreamOptions{Mode: ModeDatagram, Deadline: time.Millisecond})
	s2.SendDatagram(p.now.Add(-time.Second), []byte("stale"))
	p.settle(3)
	if st := s2.Stats(); st.DatagramsDropped != 1 || st.DatagramsSent != 0 {
		t.Fatalf("stale datagram: %+v", st)
	}
}

func TestCloseAndIdle(t *testing.T) {
	p := newPair(t, 16)
	p.cc.Close(CodeApplication, "bye")
	p.settle(3)
	var ce *CloseError
	if !errors.As(p.sc.Err(), &ce) || !ce.Remote || ce.Reason != "bye" || ce.Code != CodeApplication {
		t.Fatalf("server saw %v", p.sc.Err())
	}
	if _, err := p.cc.OpenStream(StreamOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("open after close: %v", err)
	}
	// Both are forgotten after the drain period.
	p.now = p.now.Add(10 * time.Second)
	p.settle(1)
	if len(p.cli.conns) != 0 || len(p.srv.conns) != 0 {
		t.Fatalf("conns left: %d %d", len(p.cli.conns), len(p.srv.conns))
	}

	q := newPair(t, 17)
	q.now = q.now.Add(q.cc.cfg.IdleTimeout + time.Second)
	q.cli.Poll(q.now, func(netip.AddrPort, []byte) {})
	if !errors.Is(q.cc.Err(), ErrIdleTimeout) {
		t.Fatalf("idle: %v", q.cc.Err())
	}
}

// TestKeepAliveKeepsIdleConnectionOpen: with keep-alives, an idle
// connection outlives the idle timeout.
func TestKeepAliveKeepsIdleConnectionOpen(t *testing.T) {
	p := newPair(t, 18)
	for i := 0; i < 70; i++ { // 70 s of silence from the application
		p.now = p.now.Add(time.Second)
		p.exchange()
	}
	if !p.cc.Established() || !p.sc.Established() {
		t.Fatalf("closed: %v / %v", p.cc.Err(), p.sc.Err())
	}
}

// TestMessageStreamResetFreesPartials: a reset message stream releases the
// reassembly buffers of messages that will never complete.
func TestMessageStreamResetFreesPartials(t *testing.T) {
	p := newPair(t, 19)
	cs, _ := p.cc.OpenStream(StreamOptions{Mode: ModeMessage})
	id := cs.ID()
	_, err := p.sc.processFrames(p.now, frames(
		wire.Frame{Type: wire.FrameMessage, Message: wire.MessageFrame{StreamID: id, Seq: 0, Total: 5000, Data: []byte("part")}},
		wire.Frame{Type: wire.FrameMessage, Message: wire.MessageFrame{StreamID: id, Seq: 1, Total: 3000, Offset: 10, Data: []byte("part")}},
	))
	if err != nil || p.sc.msgBuffered != 8000 {
		t.Fatalf("%v, buffered %d", err, p.sc.msgBuffered)
	}
	_, err = p.sc.processFrames(p.now, frames(wire.Frame{Type: wire.FrameStreamReset, StreamReset: wire.StreamResetFrame{StreamID: id, Code: 9, FinalSize: 2}}))
	if err != nil || p.sc.msgBuffered != 0 {
		t.Fatalf("%v, buffered %d after reset", err, p.sc.msgBuffered)
	}
	p.sc.Stream(id).Close()
	p.settle(5)
	if p.sc.Stream(id) != nil {
		t.Fatal("reset and closed stream still held")
	}
}
