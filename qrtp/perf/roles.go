package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/udp"
)

// Application error codes of the perf protocol.
const (
	// codeStopped resets a data stream when the test ends.
	codeStopped = qrtp.CodeApplication + 1
	// codeRefused closes a connection whose test could not be set up; the
	// close reason says why.
	codeRefused = qrtp.CodeApplication + 2
)

// controlStreamID is the ID of the client's first stream, which is always
// the control stream: the client opens it before its data stream, and a
// stream's ID is fixed when it is opened, whatever order its packets
// arrive in.
const controlStreamID = 0

// maxEarlyStreams bounds the streams a server keeps while it waits for the
// control stream (a client opens one data stream).
const maxEarlyStreams = 4

// chunkSize is what a bulk sender writes and a receiver reads at a time.
const chunkSize = 64 << 10

// sampler turns a connection's statistics into snapshots relative to the
// start of a measurement, averaging the smoothed RTT over time.
type sampler struct {
	c     *udp.Conn
	cc    string // the controller's name (ConnStats does not say)
	start time.Time
	base  qrtp.ConnStats
	sched schedMark // the process's scheduling at start

	mu     sync.Mutex
	rttSum time.Duration
	rttN   int
}

func newSampler(c *udp.Conn, cc string) *sampler {
	return &sampler{c: c, cc: cc, start: time.Now(), base: c.Stats(), sched: markSched()}
}

// run samples the smoothed RTT every 100 ms until ctx is done.
func (s *sampler) run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if rtt := s.c.Stats().SmoothedRTT; rtt > 0 {
				s.mu.Lock()
				s.rttSum += rtt
				s.rttN++
				s.mu.Unlock()
			}
		}
	}
}

// snap is the connection's counters since the start, plus recv, what
// the application received.
func (s *sampler) snap(recv, frames int64) *snapshot {
	st := s.c.Stats()
	s.mu.Lock()
	avg := st.SmoothedRTT
	if s.rttN > 0 {
		avg = s.rttSum / time.Duration(s.rttN)
	}
	s.mu.Unlock()
	return &snapshot{
		Elapsed:      time.Since(s.start).Seconds(),
		RecvBytes:    recv,
		FramesRecv:   frames,
		BytesSent:    st.BytesSent - s.base.BytesSent,
		BytesRetx:    st.BytesRetransmitted - s.base.BytesRetransmitted,
		BytesFEC:     st.FECBytesSent - s.base.FECBytesSent,
		PacketsSent:  st.PacketsSent - s.base.PacketsSent,
		PacketsLost:  st.PacketsLost - s.base.PacketsLost,
		SmoothedRTT:  ms(st.SmoothedRTT),
		MinRTT:       ms(st.MinRTT),
		AvgRTT:       ms(avg),
		CWND:         st.CWND,
		State:        st.Controller.State,
		Controller:   s.cc,
		PacingRateBs: st.PacingRate,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// role is one end of the data stream.
type role interface {
	// halt stops a sender (a receiver ignores it).
	halt()
	// received is the bytes and frames the receiving application got.
	received() (bytes, frames int64)
}

// bulkSender writes as fast as the stream takes data until halted.
type bulkSender struct {
	s    *udp.Stream
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startBulkSender(s *udp.Stream) *bulkSender {
	b := &bulkSender{s: s, stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *bulkSender) run() {
	defer close(b.done)
	chunk := make([]byte, chunkSize)
	for {
		select {
		case <-b.stop:
			return
		default:
		}
		if _, err := b.s.Write(chunk); err != nil {
			return
		}
	}
}

// halt stops writing and drops what is queued: the test is over, and the
// queue must not keep the link busy.
func (b *bulkSender) halt() {
	b.once.Do(func() {
		close(b.stop)
		b.s.SetWriteDeadline(time.Now())
		<-b.done
		b.s.Reset(codeStopped)
	})
}

func (b *bulkSender) received() (int64, int64) { return 0, 0 }

// bulkReceiver counts what arrives until the stream ends.
type bulkReceiver struct {
	s     *udp.Stream
	bytes atomic.Int64
	done  chan struct{}
}

func startBulkReceiver(s *udp.Stream) *bulkReceiver {
	r := &bulkReceiver{s: s, done: make(chan struct{})}
	go r.run()
	return r
}

func (r *bulkReceiver) run() {
	defer close(r.done)
	buf := make([]byte, chunkSize)
	for {
		n, err := r.s.Read(buf)
		r.bytes.Add(int64(n))
		if err != nil {
			return
		}
	}
}

func (r *bulkReceiver) halt() {}

func (r *bulkReceiver) received() (int64, int64) { return r.bytes.Load(), 0 }

// frameHeader is what a media frame starts with: its number and the
// sender's clock when it was sent (Unix nanoseconds).
const frameHeader = 16

func putFrameHeader(b []byte, n uint64, sent time.Time) {
	binary.BigEndian.PutUint64(b, n)
	binary.BigEndian.PutUint64(b[8:], uint64(sent.UnixNano()))
}

func parseFrameHeader(b []byte) (n uint64, sentNS int64, err error) {
	if len(b) < frameHeader {
		return 0, 0, errors.New("perf: frame shorter than its header")
	}
	return binary.BigEndian.Uint64(b), int64(binary.BigEndian.Uint64(b[8:])), nil
}
