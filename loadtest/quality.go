package loadtest

import (
	"encoding/json"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/qoe"
)

// Synthetic clients report like browsers (signaling/PROTOCOL.md, "Quality
// reports"): every QualityEvery a `quality` message with each received
// track's counters and its progress sampled every qualitySample, the join
// timings and the published tracks. A load run so fills the same quality
// records as real calls, and the end-to-end latency it reports is measured
// from the publisher's own timestamps rather than estimated.

// qualitySample is the progress sampling period, as in qrtn.js.
const qualitySample = 250 * time.Millisecond

// audioFrame is the duration of one generated Opus packet.
const audioFrame = 20 * time.Millisecond

// trackSeries is one received track's progress since the last report.
type trackSeries struct {
	at        []time.Time
	v, c      []float64
	played    float64 // audio: ms of wall time since the first packet
	concealed float64 // audio: ms of it without a packet
	frames    uint64  // at the previous sample
	seen      time.Time
	latency   histogram // at the previous report, for the interval's delta
}

// qualityReporter is one client's reporter; its goroutine owns it.
type qualityReporter struct {
	c      *client
	seq    int
	series map[string]*trackSeries
	ice    time.Duration
	dtls   time.Duration
	sent   bool // join timings sent
}

// startQuality starts the client's reporter (after a successful join).
func (c *client) startQuality() {
	every := c.p.quality
	if every < 0 {
		return
	}
	if every == 0 {
		every = 5 * time.Second
	}
	q := &qualityReporter{c: c, series: map[string]*trackSeries{}}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		q.run(every)
	}()
}

func (q *qualityReporter) run(every time.Duration) {
	tick := time.NewTicker(qualitySample)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-q.c.ctx.Done():
			return
		case now := <-tick.C:
			q.sample(now)
			if now.Sub(last) >= every {
				last = now
				if err := q.send(now); err != nil {
					return
				}
			}
		}
	}
}

// sample takes one progress sample of every received track.
func (q *qualityReporter) sample(now time.Time) {
	c := q.c
	c.mu.Lock()
	tracks := make(map[string]*recvTrack, len(c.tracks))
	for k, t := range c.tracks {
		tracks[k] = t
	}
	start, l := c.joinStart, c.cur
	c.mu.Unlock()
	var pcs []*webrtc.PeerConnection
	if l != nil {
		l.mu.Lock()
		pcs = []*webrtc.PeerConnection{l.sub, l.pub}
		l.mu.Unlock()
	}
	// The first connection up: a subscriber's, or a lone publisher's.
	for _, pc := range pcs {
		if pc == nil {
			continue
		}
		if q.ice == 0 && pc.ICEConnectionState() == webrtc.ICEConnectionStateConnected {
			q.ice = now.Sub(start)
		}
		if q.dtls == 0 && pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			q.dtls = now.Sub(start)
		}
	}
	for key, t := range tracks {
		s := q.series[key]
		if s == nil {
			s = &trackSeries{}
			q.series[key] = s
		}
		t.mu.Lock()
		frames := t.r.frames
		t.mu.Unlock()
		if len(s.at) >= qoe.MaxSeriesSamples {
			continue
		}
		if t.kind == "video" {
			s.at, s.v = append(s.at, now), append(s.v, float64(frames))
			continue
		}
		// Audio: wall time is what a browser would have played, and
		// the part of it the packets did not cover was concealed.
		if !s.seen.IsZero() {
			step := float64(now.Sub(s.seen).Milliseconds())
			heard := float64(frames-s.frames) * float64(audioFrame.Milliseconds())
			s.played += step
			s.concealed += max(step-heard, 0)
		}
		if frames > 0 {
			s.seen = now
		}
		s.frames = frames
		s.at, s.v, s.c = append(s.at, now), append(s.v, s.played), append(s.c, s.concealed)
	}
}

// send builds and sends one report.
func (q *qualityReporter) send(now time.Time) error {
	c := q.c
	q.seq++
	r := qoe.ClientReport{Seq: q.seq, Recv: []qoe.RecvTrack{}, Send: []qoe.SendTrack{}}
	c.mu.Lock()
	start, joined := c.joinStart, c.joinedAt
	tracks := make(map[string]*recvTrack, len(c.tracks))
	for k, t := range c.tracks {
		tracks[k] = t
	}
	publishing := c.p.publish
	layers := make(map[string]string, len(c.layers))
	for k, l := range c.layers {
		layers[k] = l
	}
	c.mu.Unlock()
	var firstFrame time.Time
	for key, t := range tracks {
		s := q.series[key]
		if s == nil {
			continue
		}
		t.mu.Lock()
		rt := qoe.RecvTrack{Participant: t.participant, Track: t.track, Kind: t.kind, FramesDecoded: float64(t.r.frames),
			PacketsReceived: float64(t.r.unique), PacketsLost: float64(t.r.expected() - min(t.r.unique, t.r.expected()))}
		lat := t.r.latency
		if t.kind == "video" && t.r.frameSeen && (firstFrame.IsZero() || t.r.firstFrame.Before(firstFrame)) {
			firstFrame = t.r.firstFrame
		}
		t.mu.Unlock()
		rt.E2EMs = intervalMedian(&lat, &s.latency)
		rt.Layer = layers[key]
		rt.ConcealedMs = s.concealed
		for i, at := range s.at {
			rt.Series.AgeMs = append(rt.Series.AgeMs, float64(now.Sub(at).Milliseconds()))
			rt.Series.V = append(rt.Series.V, s.v[i])
			if t.kind == "audio" {
				rt.Series.C = append(rt.Series.C, s.c[i])
			}
		}
		s.at, s.v, s.c = s.at[:0], s.v[:0], s.c[:0]
		r.Recv = append(r.Recv, rt)
	}
	if !q.sent && (q.dtls > 0 || !firstFrame.IsZero()) {
		// ICE and DTLS are sampled every 250 ms: never later than the
		// first frame they carried.
		j := &qoe.JoinTimings{WSMs: qms(joined.Sub(start)), ICEMs: qms(q.ice), DTLSMs: qms(q.dtls)}
		if !firstFrame.IsZero() {
			j.FirstFrameMs = qms(firstFrame.Sub(start))
			j.ICEMs, j.DTLSMs = min(j.ICEMs, j.FirstFrameMs), min(j.DTLSMs, j.FirstFrameMs)
		}
		r.Join, q.sent = j, !firstFrame.IsZero() || len(tracks) == 0
	}
	if publishing {
		fps := float64(c.p.media.FPS)
		r.Send = append(r.Send, qoe.SendTrack{Track: "audio", Kind: "audio", Limitation: "none"},
			qoe.SendTrack{Track: "video", Kind: "video", Limitation: "none", FPS: fps})
	}
	b, err := json.Marshal(map[string]any{"type": "quality", "report": r})
	if err != nil {
		return err
	}
	l := c.current()
	if l == nil {
		return nil
	}
	return l.sendRaw(b)
}

func qms(d time.Duration) float64 { return float64(d.Milliseconds()) }

// intervalMedian is the median of the latencies added to cur since prev
// (a copy of cur at the previous report), in ms; it then updates prev.
func intervalMedian(cur, prev *histogram) float64 {
	if cur.n < prev.n { // the window was reset: start over
		*prev = histogram{}
	}
	var d histogram
	for i := range cur.counts {
		d.counts[i] = cur.counts[i] - prev.counts[i]
	}
	d.n, d.max = cur.n-prev.n, cur.max
	*prev = *cur
	if d.n == 0 {
		return 0
	}
	return float64(d.quantile(0.5).Microseconds()) / 1000
}
