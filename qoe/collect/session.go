// Package collect turns what an access node hears from one participant
// session (its client's quality reports, its start and end) into quality
// records: a sample per track and interval, the stalls found in the
// progress series (sla.Detector), the call with its join time, and the
// session's participant-minutes for live metrics.
//
// It is pure: a Session is driven by calls that pass the time in, and it
// knows no store, network or clock. It must not know how records are
// stored or shown.
package collect

import (
	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/sla"
)

// firstInterval is the interval assumed for a track's first report when
// its series does not say how far back it goes.
const firstInterval = 5000

// Estimator estimates the end-to-end latency of a received track from its
// route, for clients without the publisher's timestamps. It returns the
// publisher's region ("" when unknown) and the estimate in ms (0: none).
type Estimator func(publisher, track string, jitterBufferMs, rttMs float64) (srcRegion string, ms float64)

// Latency is one end-to-end observation for the metrics.
type Latency struct {
	SrcRegion string
	Ms        float64
	Estimated bool
}

// Output is what one call on a Session produced.
type Output struct {
	Records []qoe.Record
	Stalls  []qoe.Stall
	// JoinMs is set (> 0) when the join time became known with this report.
	JoinMs  int
	Latency []Latency
	// Minutes and StalledMinutes passed since the last call.
	Minutes, StalledMinutes int
}

// Session is one participant session on its access node.
type Session struct {
	call    qoe.Call
	recv    map[string]*recvState // by publisher/track
	minutes *sla.Minutes
	lastRTT float64
	// The last report's time and bytes sent per published track.
	lastReport int64
	sent       map[string]float64
}

type recvState struct {
	det    *sla.Detector
	last   qoe.RecvTrack
	lastAt int64
}

// NewSession starts a session's records: call is the call as it started
// (Session, Room, Participant, Name, Node, Region, JoinedAt).
func NewSession(call qoe.Call) *Session {
	return &Session{call: call, recv: map[string]*recvState{}, minutes: sla.NewMinutes(call.JoinedAt)}
}

// Call is the call record as it stands.
func (s *Session) Call() qoe.Call { return s.call }

// RTT is the RTT the client reported last (ms, 0 before any).
func (s *Session) RTT() float64 { return s.lastRTT }

// Start returns the records of the session's start.
func (s *Session) Start() Output {
	return Output{Records: []qoe.Record{s.call}}
}

// Report turns one checked client report, received at now, into records.
func (s *Session) Report(now int64, r *qoe.ClientReport, est Estimator) Output {
	var out Output
	if r.RTT != nil {
		s.lastRTT = *r.RTT
	}
	if j := r.Join; j != nil && s.call.JoinMs == 0 {
		s.setJoin(j)
		if s.call.JoinMs > 0 {
			out.JoinMs = s.call.JoinMs
			out.Records = append(out.Records, s.call)
		}
	}
	seen := map[string]bool{}
	for i := range r.Recv {
		t := &r.Recv[i]
		key := t.Participant + "/" + t.Track
		seen[key] = true
		s.recvTrack(now, t, est, &out)
	}
	for key, st := range s.recv {
		if !seen[key] {
			s.endTrack(st, &out)
			delete(s.recv, key)
		}
	}
	start := now - firstInterval
	if s.lastReport > 0 {
		start = s.lastReport
	}
	sent := map[string]float64{}
	for _, t := range r.Send {
		ps := qoe.PublishSample{Session: s.call.Session, Room: s.call.Room, Participant: s.call.Participant,
			Track: t.Track, Kind: t.Kind, Node: s.call.Node, Start: start, End: now, Limitation: limitation(t.Limitation),
			FPS: t.FPS, FractionLost: t.FractionLost, RTTMs: t.RTTMs}
		if b, ok := s.sent[t.Track]; ok && t.BytesSent >= b && now > start {
			ps.BitrateBps = (t.BytesSent - b) * 8000 / float64(now-start)
		}
		sent[t.Track] = t.BytesSent
		out.Records = append(out.Records, ps)
	}
	s.sent, s.lastReport = sent, now
	out.Minutes, out.StalledMinutes = s.minutes.Advance(now, false)
	return out
}

// Tick counts the participant-minutes that passed (for sessions whose
// client does not report).
func (s *Session) Tick(now int64) Output {
	var out Output
	out.Minutes, out.StalledMinutes = s.minutes.Advance(now, false)
	return out
}

// End closes the session at now: audio stalls still running are counted,
// the call gets its end, the last minute is counted.
func (s *Session) End(now int64) Output {
	var out Output
	for key, st := range s.recv {
		s.endTrack(st, &out)
		delete(s.recv, key)
	}
	s.call.LeftAt = now
	out.Records = append(out.Records, s.call)
	out.Minutes, out.StalledMinutes = s.minutes.Advance(now, true)
	return out
}

func (s *Session) setJoin(j *qoe.JoinTimings) {
	c := &s.call
	c.TokenMs, c.WSMs, c.ICEMs, c.DTLSMs, c.FirstFrameMs = int(j.TokenMs), int(j.WSMs), int(j.ICEMs), int(j.DTLSMs), int(j.FirstFrameMs)
	switch {
	case c.FirstFrameMs > 0:
		c.JoinMs = c.FirstFrameMs
	case c.DTLSMs > 0:
		c.JoinMs = c.DTLSMs
	}
}

func (s *Session) recvTrack(now int64, t *qoe.RecvTrack, est Estimator, out *Output) {
	key := t.Participant + "/" + t.Track
	st := s.recv[key]
	prev := qoe.RecvTrack{}
	start := now - firstInterval
	if n := len(t.Series.AgeMs); n > 0 {
		start = now - int64(t.Series.AgeMs[0])
	}
	if st == nil || st.last.Kind != t.Kind {
		st = &recvState{det: sla.NewDetector(t.Kind)}
		s.recv[key] = st
	} else {
		prev, start = st.last, st.lastAt
	}
	if t.FramesDecoded < prev.FramesDecoded || t.PacketsReceived < prev.PacketsReceived {
		prev = qoe.RecvTrack{} // a new receiver: counters restarted
	}
	st.last, st.lastAt = *t, now
	sample := qoe.TrackSample{Session: s.call.Session, Room: s.call.Room, Participant: s.call.Participant,
		Publisher: t.Participant, Track: t.Track, Kind: t.Kind, Node: s.call.Node, Start: start, End: now,
		Frames: int(t.FramesDecoded - prev.FramesDecoded), Freezes: int(max(t.FreezeCount-prev.FreezeCount, 0)),
		FreezeMs: int(max(t.FreezeMs-prev.FreezeMs, 0)), JitterBufferMs: t.JitterBufferMs,
		PacketsLost: int(max(t.PacketsLost-prev.PacketsLost, 0)), PacketsReceived: int(t.PacketsReceived - prev.PacketsReceived),
		RTTMs: s.lastRTT, Layer: t.Layer, Width: int(t.Width), Height: int(t.Height),
		ConcealedMs: int(max(t.ConcealedMs-prev.ConcealedMs, 0))}
	if d := now - start; d > 0 && t.Kind == "video" {
		sample.FPS = float64(sample.Frames) * 1000 / float64(d)
	}
	switch {
	case t.E2EMs > 0:
		sample.E2EMs = t.E2EMs
		out.Latency = append(out.Latency, Latency{SrcRegion: regionOf(est, t), Ms: t.E2EMs})
	case est != nil && sample.PacketsReceived > 0:
		if region, ms := est(t.Participant, t.Track, t.JitterBufferMs, s.lastRTT); ms > 0 {
			sample.E2EMs, sample.E2EEstimate = ms, true
			out.Latency = append(out.Latency, Latency{SrcRegion: region, Ms: ms, Estimated: true})
		}
	}
	out.Records = append(out.Records, sample)
	for i, age := range t.Series.AgeMs {
		p := sla.Point{At: now - int64(age), V: t.Series.V[i]}
		if len(t.Series.C) > i {
			p.C = t.Series.C[i]
		}
		p.Off = p.V < 0
		if stall, ok := st.det.Feed(p); ok {
			s.addStall(t.Participant, t.Track, t.Kind, stall, out)
		}
	}
}

func regionOf(est Estimator, t *qoe.RecvTrack) string {
	if est == nil {
		return ""
	}
	r, _ := est(t.Participant, t.Track, 0, 0)
	return r
}

func (s *Session) endTrack(st *recvState, out *Output) {
	if stall, ok := st.det.Flush(); ok {
		s.addStall(st.last.Participant, st.last.Track, st.last.Kind, stall, out)
	}
}

func (s *Session) addStall(publisher, track, kind string, st sla.Stall, out *Output) {
	rec := qoe.Stall{Session: s.call.Session, Room: s.call.Room, Participant: s.call.Participant, Publisher: publisher,
		Track: track, Kind: kind, Node: s.call.Node, At: st.At, DurationMs: st.DurationMs}
	s.minutes.Stall(st.At, st.DurationMs)
	out.Stalls = append(out.Stalls, rec)
	out.Records = append(out.Records, rec)
}

func limitation(l string) string {
	if l == "" {
		return "none"
	}
	return l
}
