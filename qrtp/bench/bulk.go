package bench

import (
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// bulkFlow keeps one reliable stream's send buffer full.
type bulkFlow struct {
	cc    string
	conn  *qrtp.Conn
	st    *qrtp.Stream
	chunk []byte
}

func newBulkFlow(w *world, cc string) (*bulkFlow, error) {
	c, err := w.connect(cc, "bulk")
	if err != nil {
		return nil, err
	}
	st, err := c.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeReliable, SendBuffer: benchWindow})
	if err != nil {
		return nil, err
	}
	f := &bulkFlow{cc: cc, conn: c, st: st, chunk: make([]byte, 16<<10)}
	w.cli.apps = append(w.cli.apps, f.fill)
	return f, nil
}

func (f *bulkFlow) fill(time.Time) {
	for {
		n, err := f.st.Write(f.chunk)
		if err != nil || n < len(f.chunk) {
			return
		}
	}
}

// acked is the unique payload the peer has acknowledged so far.
func (f *bulkFlow) acked() uint64 { return f.st.Stats().BytesAcked }

// sink is the server's application: it accepts every connection and
// stream, reads everything, and reports each complete message.
type sink struct {
	acc       accepter
	conns     []*qrtp.Conn
	streams   []*qrtp.Stream
	buf       []byte
	onMessage func(now time.Time, m qrtp.Message)
}

func newSink(w *world) *sink {
	s := &sink{acc: accepter{w: w}, buf: make([]byte, 64<<10)}
	w.srv.apps = append(w.srv.apps, s.run)
	return s
}

func (s *sink) run(now time.Time) {
	for c := s.acc.next(); c != nil; c = s.acc.next() {
		s.conns = append(s.conns, c)
	}
	for _, c := range s.conns {
		for st := c.AcceptStream(); st != nil; st = c.AcceptStream() {
			s.streams = append(s.streams, st)
		}
		for _, ok := c.PollEvent(); ok; _, ok = c.PollEvent() {
		}
	}
	for _, st := range s.streams {
		switch st.Mode() {
		case qrtp.ModeMessage:
			for m, ok := st.ReadMessage(); ok; m, ok = st.ReadMessage() {
				if s.onMessage != nil {
					s.onMessage(now, m)
				}
			}
		default:
			for {
				n, err := st.Read(s.buf)
				if n == 0 || err != nil {
					break
				}
			}
		}
	}
}
