package perf

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/qrtp/udp"
)

const (
	// lateAfter and stallAfter are the mission's thresholds: a frame is
	// late if it is not complete 400 ms after it was sent, and video
	// stalls when no frame is rendered for 600 ms.
	lateAfter  = 400 * time.Millisecond
	stallAfter = 600 * time.Millisecond
	// maxFrameBytes bounds a media frame (a peer's bitrate/fps must not
	// make us allocate without bound).
	maxFrameBytes = 1 << 20
	// maxSamples bounds the latency samples a receiver keeps (a ten-hour
	// test at 25 fps); later frames are counted but not sampled.
	maxSamples = 1 << 20
)

// mediaSender sends one message per frame at a fixed frame rate.
type mediaSender struct {
	s         *udp.Stream
	frameSize int
	interval  time.Duration
	deadline  time.Duration

	sent, refused atomic.Int64
	stop, done    chan struct{}
	once          sync.Once
}

// frameBytes is the size of one frame at bitrate (bit/s) and fps, or 0
// when that is outside [frameHeader, maxFrameBytes].
func frameBytes(bitrate, fps float64) int {
	n := bitrate / 8 / fps
	if !(n >= frameHeader && n <= maxFrameBytes) { // also rejects NaN
		return 0
	}
	return int(n)
}

func startMediaSender(s *udp.Stream, bitrate, fps float64, deadline time.Duration) *mediaSender {
	m := &mediaSender{
		s:         s,
		frameSize: max(frameBytes(bitrate, fps), frameHeader),
		interval:  time.Duration(float64(time.Second) / fps),
		deadline:  deadline,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go m.run()
	return m
}

func (m *mediaSender) run() {
	defer close(m.done)
	frame := make([]byte, m.frameSize)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := uint64(0); ; n++ {
		select {
		case <-m.stop:
			return
		case <-timer.C:
		}
		now := time.Now()
		putFrameHeader(frame, n, now)
		m.sent.Add(1)
		if _, err := m.s.SendMessage(frame, now.Add(m.deadline)); err != nil {
			// A full queue drops the frame, as a live encoder would; it
			// counts as sent and never delivered.
			m.refused.Add(1)
		}
		// Keep the schedule rather than the spacing, so a late wake-up
		// does not lower the frame rate.
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * m.interval)))
	}
}

func (m *mediaSender) halt() {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
	})
}

func (m *mediaSender) received() (int64, int64) { return 0, 0 }

// mediaReceiver records each frame's raw one-way latency (arrival on the
// receiver's clock minus the sender's timestamp), arrival time and number.
type mediaReceiver struct {
	s        *udp.Stream
	start    time.Time
	interval time.Duration // between frames, to place a frame number in the run

	mu       sync.Mutex
	frames   int64
	bytes    int64
	raw      []int64     // ns, receiver clock − sender clock
	arrivals []time.Time // in arrival order
	nums     []uint64    // frame numbers, in arrival order

	done chan struct{}
}

func startMediaReceiver(ctx context.Context, s *udp.Stream, fps float64) *mediaReceiver {
	r := &mediaReceiver{s: s, start: time.Now(), interval: time.Duration(float64(time.Second) / fps), done: make(chan struct{})}
	go r.run(ctx)
	return r
}

func (r *mediaReceiver) run(ctx context.Context) {
	defer close(r.done)
	for {
		m, err := r.s.ReceiveMessage(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		num, sentNS, err := parseFrameHeader(m.Data)
		if err != nil {
			continue
		}
		r.mu.Lock()
		r.frames++
		r.bytes += int64(len(m.Data))
		if len(r.raw) < maxSamples {
			r.raw = append(r.raw, now.UnixNano()-sentNS)
			r.arrivals = append(r.arrivals, now)
			r.nums = append(r.nums, num)
		}
		r.mu.Unlock()
	}
}

func (r *mediaReceiver) halt() {}

func (r *mediaReceiver) received() (int64, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes, r.frames
}

// mediaStats is what a media receiver reports at the end of a test.
type mediaStats struct {
	FramesSent      int64   `json:"frames_sent"`
	FramesDelivered int64   `json:"frames_delivered"`
	FramesLate400   int64   `json:"frames_late_400ms"`
	FramesExpired   int64   `json:"frames_expired"`
	BytesDelivered  int64   `json:"bytes_delivered"`
	P50             float64 `json:"latency_p50_ms"`
	P95             float64 `json:"latency_p95_ms"`
	P99             float64 `json:"latency_p99_ms"`
	Max             float64 `json:"latency_max_ms"`
	Stalls600       int64   `json:"stalls_600ms"`
	// FramesLost never arrived (the others of FramesLate400 arrived late);
	// LateBySecond counts the frames not complete within 400 ms by the
	// second of the run they were sent in (frame number / fps).
	FramesLost   int64   `json:"frames_lost"`
	LateBySecond []int64 `json:"late_by_second,omitempty"`
}

// finish computes the figures. sent is the sender's frame count; skew is
// the receiver's clock minus the sender's (subtracted from each raw
// latency); end is when, on the receiver's clock, the sender stopped.
func (r *mediaReceiver) finish(sent int64, skew time.Duration, end time.Time) *mediaStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &mediaStats{FramesSent: sent, FramesDelivered: r.frames, BytesDelivered: r.bytes}
	lat := make([]time.Duration, len(r.raw))
	onTime := int64(0)
	for i, raw := range r.raw {
		lat[i] = time.Duration(raw) - skew
		if lat[i] <= lateAfter {
			onTime++
		}
	}
	st.FramesLate400 = max(sent-onTime, 0)
	st.FramesLost = max(sent-r.frames, 0)
	st.LateBySecond = r.lateBySecond(sent, lat)
	slices.Sort(lat)
	st.P50, st.P95, st.P99 = ms(pct(lat, 0.50)), ms(pct(lat, 0.95)), ms(pct(lat, 0.99))
	if len(lat) > 0 {
		st.Max = ms(lat[len(lat)-1])
	}
	st.Stalls600 = countStalls(r.arrivals, end)
	outs, _ := r.s.MessageOutcomes(nil)
	for _, o := range outs {
		if o.Expired {
			st.FramesExpired++
		}
	}
	return st
}

// sendingEnded is when, on this (the server's) clock, the last frame the
// client sent could have arrived at the earliest: its stop time plus the
// lowest one-way latency seen. The stop message arrives later at heavy
// loss (it may need retransmissions), and the silence between is no
// stall. Without the client's stop time it is when stop arrived.
func (r *mediaReceiver) sendingEnded(stop ctrlMsg, arrived time.Time) time.Time {
	if stop.StopT == 0 {
		return arrived
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.raw) == 0 {
		return arrived
	}
	skew := time.Duration(stop.ClockOffsetNS)
	least := time.Duration(slices.Min(r.raw)) - skew
	end := time.Unix(0, stop.StopT).Add(skew + max(least, 0))
	if end.After(arrived) {
		return arrived
	}
	return end
}

// pct is the q-quantile of sorted samples (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// countStalls counts gaps of more than 600 ms between frame arrivals, and
// between the last arrival and the end of sending.
func countStalls(arrivals []time.Time, end time.Time) int64 {
	var n int64
	for i := 1; i < len(arrivals); i++ {
		if arrivals[i].Sub(arrivals[i-1]) > stallAfter {
			n++
		}
	}
	if len(arrivals) > 0 && end.Sub(arrivals[len(arrivals)-1]) > stallAfter {
		n++
	}
	return n
}

// lateBySecond counts the frames of [0, sent) not complete within 400 ms
// by the second they were sent in; lat is r.raw corrected, in r.nums order.
// r.mu is held.
func (r *mediaReceiver) lateBySecond(sent int64, lat []time.Duration) []int64 {
	if sent <= 0 || r.interval <= 0 || sent > maxSamples {
		return nil
	}
	onTime := make([]bool, sent)
	for i, n := range r.nums {
		if n < uint64(sent) && lat[i] <= lateAfter {
			onTime[n] = true
		}
	}
	var out []int64
	for n, ok := range onTime {
		sec := int(time.Duration(n) * r.interval / time.Second)
		for len(out) <= sec {
			out = append(out, 0)
		}
		if !ok {
			out[sec]++
		}
	}
	return out
}
