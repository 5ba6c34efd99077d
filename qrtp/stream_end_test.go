package qrtp

import (
	"errors"
	"io"
	"testing"
)

// TestMessageAndDatagramStreamEnd: the reader of a message or datagram
// stream learns that nothing more will come (io.EOF) once the peer closed
// it and everything before the end was read, or that the peer reset it.
func TestMessageAndDatagramStreamEnd(t *testing.T) {
	for _, mode := range []Mode{ModeMessage, ModeDatagram} {
		for _, reset := range []bool{false, true} {
			p := newPair(t, 11)
			s, err := p.cc.OpenStream(StreamOptions{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			if mode == ModeMessage {
				_, err = s.SendMessage(p.now, []byte("last words"), p.now.Add(1e9))
			} else {
				err = s.SendDatagram(p.now, []byte("last words"))
			}
			if err != nil {
				t.Fatal(err)
			}
			p.exchange()
			rs := p.sc.AcceptStream()
			if rs == nil || rs.RecvErr() != nil {
				t.Fatalf("%v: no stream, or it ended early", mode)
			}
			if reset {
				s.Reset(7)
			} else {
				s.Close()
			}
			for range 4 {
				p.exchange()
			}
			var got bool
			if mode == ModeMessage {
				_, got = rs.ReadMessage()
			} else {
				_, got = rs.ReadDatagram()
			}
			err = rs.RecvErr()
			var re *StreamResetError
			switch {
			case reset && !errors.As(err, &re):
				t.Errorf("%v reset: RecvErr %v", mode, err)
			case reset && re.Code != 7:
				t.Errorf("%v reset: code %d", mode, re.Code)
			case !reset && (!got || err != io.EOF):
				t.Errorf("%v close: read %v, RecvErr %v; want the data, then io.EOF", mode, got, err)
			}
		}
	}
}

// TestStreamsAvailableEvent: after OpenStream hit the peer's stream limit,
// the connection says when the peer allows more.
func TestStreamsAvailableEvent(t *testing.T) {
	p := newPair(t, 12)
	var opened []*Stream
	for {
		s, err := p.cc.OpenStream(StreamOptions{Mode: ModeDatagram})
		if errors.Is(err, ErrStreamLimit) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, s)
	}
	for _, s := range opened[:3] {
		s.SendDatagram(p.now, []byte("x"))
		s.Close()
	}
	found := false
	for range 10 {
		p.exchange()
		for rs := p.sc.AcceptStream(); rs != nil; rs = p.sc.AcceptStream() {
			rs.ReadDatagram()
			rs.Close()
		}
		for ev, ok := p.cc.PollEvent(); ok; ev, ok = p.cc.PollEvent() {
			found = found || ev.Kind == EventStreamsAvailable
		}
	}
	if !found {
		t.Fatal("no EventStreamsAvailable after the peer freed streams")
	}
	if _, err := p.cc.OpenStream(StreamOptions{Mode: ModeDatagram}); err != nil {
		t.Fatalf("OpenStream after the event: %v", err)
	}
}

// TestReadyListsConnectionsWithEvents: Endpoint.Ready names each
// connection with new events once, and nothing when none came.
func TestReadyListsConnectionsWithEvents(t *testing.T) {
	p := newPair(t, 13)
	p.srv.Ready()
	p.cli.Ready()
	if r := p.srv.Ready(); len(r) != 0 {
		t.Fatalf("Ready lists %d connections without new events", len(r))
	}
	s, _ := p.cc.OpenStream(StreamOptions{Mode: ModeMessage})
	s.SendMessage(p.now, []byte("a"), p.now.Add(1e9))
	s.SendMessage(p.now, []byte("b"), p.now.Add(1e9))
	p.exchange()
	if r := p.srv.Ready(); len(r) != 1 || r[0] != p.sc {
		t.Fatalf("Ready after two messages: %v", r)
	}
	if r := p.srv.Ready(); len(r) != 0 {
		t.Fatalf("Ready lists %d connections twice", len(r))
	}
	if st := p.cc.Stats(); st.CongestionControl != "qbbr" {
		t.Fatalf("ConnStats.CongestionControl %q", st.CongestionControl)
	}
}
