package sfu

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Sender reports for the subscriber connections: every srInterval, an RTCP
// SR for each media stream that has sent, with its packet and octet counts
// and the NTP time of an RTP timestamp, so that a subscriber can measure
// the round trip (LSR/DLSR, grade.go) and synchronise audio with video.
// Pion's sender-report interceptor read the clock and took a lock for
// every packet; this one reads the clock once per frame (when the RTP
// timestamp changes) and counts only the stream's own SSRC, so that RTX
// retransmissions and FlexFEC repair packets neither count as media nor
// skew the RTP/NTP mapping with their old timestamps.

const srInterval = time.Second

type srFactory struct{}

// NewInterceptor makes one PeerConnection's sender-report interceptor.
func (srFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &srInterceptor{streams: map[uint32]*srStream{}, done: make(chan struct{})}, nil
}

type srInterceptor struct {
	interceptor.NoOp
	mu      sync.Mutex
	streams map[uint32]*srStream
	started bool
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// srStream is what one media stream's report needs. Written under mu by
// the stream's one writer at a time, read by the report loop.
type srStream struct {
	ssrc  uint32
	clock float64

	mu      sync.Mutex
	any     bool
	lastSeq uint16
	lastTS  uint32    // the newest frame's RTP timestamp
	lastAt  time.Time // when its first packet was sent
	packets uint32
	octets  uint32
}

// BindLocalStream counts the stream's media packets.
func (s *srInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	st := &srStream{ssrc: info.SSRC, clock: float64(info.ClockRate)}
	s.mu.Lock()
	s.streams[info.SSRC] = st
	s.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC == st.ssrc {
			st.sent(h, len(payload))
		}
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream stops reporting the stream.
func (s *srInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	s.mu.Lock()
	delete(s.streams, info.SSRC)
	s.mu.Unlock()
}

func (st *srStream) sent(h *rtp.Header, n int) {
	st.mu.Lock()
	// Only in-order packets move the mapping (a resend on the media
	// SSRC, without RTX, carries an old timestamp).
	if d := h.SequenceNumber - st.lastSeq; !st.any || (d > 0 && d < 1<<15) {
		st.lastSeq = h.SequenceNumber
		if !st.any || h.Timestamp != st.lastTS {
			st.lastTS, st.lastAt = h.Timestamp, time.Now()
		}
		st.any = true
	}
	st.packets++
	st.octets += uint32(n)
	st.mu.Unlock()
}

// report is the stream's SR at now, or nil before it sent anything.
func (st *srStream) report(now time.Time) *rtcp.SenderReport {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.any {
		return nil
	}
	return &rtcp.SenderReport{SSRC: st.ssrc, NTPTime: toNTP(now),
		RTPTime:     st.lastTS + uint32(int64(now.Sub(st.lastAt).Seconds()*st.clock)),
		PacketCount: st.packets, OctetCount: st.octets}
}

// toNTP is t as a 64-bit NTP timestamp (seconds since 1900, 32.32).
func toNTP(t time.Time) uint64 {
	secs := uint64(t.Unix()) + 2208988800
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// BindRTCPWriter starts the report loop, once per connection.
func (s *srInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return w
	}
	s.started = true
	s.wg.Add(1)
	go s.loop(w)
	return w
}

func (s *srInterceptor) loop(w interceptor.RTCPWriter) {
	defer s.wg.Done()
	t := time.NewTicker(srInterval)
	defer t.Stop()
	var streams []*srStream
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			now := time.Now() // the SR's NTP time is when it is sent
			s.mu.Lock()
			streams = streams[:0]
			for _, st := range s.streams {
				streams = append(streams, st)
			}
			s.mu.Unlock()
			for _, st := range streams {
				if sr := st.report(now); sr != nil {
					_, _ = w.Write([]rtcp.Packet{sr}, interceptor.Attributes{})
				}
			}
		}
	}
}

// Close stops the report loop.
func (s *srInterceptor) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
