package bench

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// The media stream of the talk's latency test: 720p at 25 fps and
// 1500 kbit/s, each frame one message with a deadline.
const (
	mediaFPS        = 25
	mediaFrameBytes = 1500_000 / 8 / mediaFPS // 7500
	mediaDeadline   = 400 * time.Millisecond
	mediaStall      = 600 * time.Millisecond
	// mediaTail lets the last measured frames finish (or expire).
	mediaTail = time.Second
)

var errNoFrames = errors.New("bench: no frames in the measurement window")

// runMedia sends frames on the meeting profile and measures, at the
// receiver, when each one completes.
func runMedia(s *Scenario) (Result, error) {
	var r Result
	w, err := newWorld(s)
	if err != nil {
		return r, err
	}
	sk := newSink(w)
	c, err := w.connect(s.CC, "meeting")
	if err != nil {
		return r, err
	}
	st, err := c.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage})
	if err != nil {
		return r, err
	}
	var sent []time.Time // by frame index
	arrived := map[uint64]time.Time{}
	sk.onMessage = func(now time.Time, m qrtp.Message) {
		if len(m.Data) >= 8 {
			arrived[binary.BigEndian.Uint64(m.Data)] = now
		}
	}
	frame := make([]byte, mediaFrameBytes)
	send := func() {
		now := w.sim.Now()
		binary.BigEndian.PutUint64(frame, uint64(len(sent)))
		sent = append(sent, now)
		// A full send buffer drops the frame, as an encoder would.
		_, _ = st.SendMessage(now, frame, now.Add(mediaDeadline))
	}
	send()
	stop := w.sim.Every(time.Second/mediaFPS, send)
	from := w.sim.Now().Add(s.warmup())
	to := from.Add(s.measure())
	stats0 := qrtp.ConnStats{}
	w.sim.At(from, func() { stats0 = c.Stats() })
	w.sim.RunUntil(to)
	stop()
	w.sim.RunFor(mediaTail)
	m, err := mediaFigures(sent, arrived, from, to)
	if err != nil {
		return r, err
	}
	st1 := c.Stats()
	if b := st1.BytesSent - stats0.BytesSent; b > 0 {
		m.FECOverhead = float64(st1.FECBytesSent-stats0.FECBytesSent) / float64(b)
	}
	r.Media = m
	r.MinRTTms, r.SmoothedRTTms = ms(st1.MinRTT), ms(st1.SmoothedRTT)
	r.NoiseLoss, r.CongestedLoss = st1.Controller.NoiseLoss, st1.Controller.CongestedLoss
	return r, nil
}

// mediaFigures turns send and arrival times of frames sent in [from, to)
// into latency percentiles, the share within the deadline, and stalls.
func mediaFigures(sent []time.Time, arrived map[uint64]time.Time, from, to time.Time) (*MediaResult, error) {
	m := &MediaResult{}
	var lat []time.Duration
	var completions []time.Time
	for i, t := range sent {
		if t.Before(from) || !t.Before(to) {
			continue
		}
		m.FramesSent++
		a, ok := arrived[uint64(i)]
		if !ok {
			continue
		}
		m.FramesDelivered++
		d := a.Sub(t)
		lat = append(lat, d)
		completions = append(completions, a)
		if d <= mediaDeadline {
			m.Within400++
		}
	}
	if m.FramesSent == 0 {
		return nil, errNoFrames
	}
	m.Within400 /= float64(m.FramesSent)
	// Undelivered frames count as infinitely late in the percentiles.
	slices.Sort(lat)
	pct := func(q float64) float64 {
		i := int(q * float64(m.FramesSent))
		if i >= len(lat) {
			return -1
		}
		return ms(lat[i])
	}
	m.LatencyP50ms, m.LatencyP95ms, m.LatencyP99ms = pct(0.5), pct(0.95), pct(0.99)
	m.Stalls600 = countStalls(completions, from, to)
	return m, nil
}

// countStalls counts gaps of mediaStall or more without a new complete
// frame between from and to.
func countStalls(completions []time.Time, from, to time.Time) int {
	slices.SortFunc(completions, func(a, b time.Time) int { return a.Compare(b) })
	n := 0
	last := from
	for _, c := range completions {
		if c.After(to) {
			break
		}
		if c.Sub(last) >= mediaStall {
			n++
		}
		if c.After(last) {
			last = c
		}
	}
	if to.Sub(last) >= mediaStall {
		n++
	}
	return n
}
