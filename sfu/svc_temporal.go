package sfu

import (
	"slices"
	"sync/atomic"
	"time"
)

// Temporal layers: frame-rate steps within a spatial layer (or a
// simulcast stream) of VP9 and AV1. A VP9 L3T3 picture of temporal layer 0
// comes every fourth frame, of layer 1 every second, of layer 2 in
// between; no frame references a frame of a higher temporal layer, so
// dropping the pictures above a layer leaves a stream at 1/4 or 1/2 of
// the frame rate that decodes on its own.
//
// The selector chooses a (spatial, temporal) pair. It sees an SVC track
// (or a VP9 track of several streams, or an AV1 one with the descriptor,
// as a far node sees an SVC track relayed over a trunk: one stream per
// spatial layer, svc_sink.go) as a ladder of
// svcTemporal steps per spatial layer, small first and, within a spatial
// layer, low frame rate first (ladderIndex): when the estimate falls, a
// camera loses frame rate before resolution, as in LiveKit and libwebrtc.
// Each step's cost is measured (temporalMeter): the spatial layer's
// bitrate times the share of its bytes in the temporal layers up to the
// step. A subscriber's frame-rate preference (PreferFrameRate) caps the
// step by the frame rate measured per temporal layer.
//
// Forwarding: going down happens at the next picture, one temporal layer
// at a time, the next one after temporalSettle pictures at the rate
// between (a receiver counts a freeze when a frame comes three times
// later than its recent average, so 20 fps dropped straight to 5 counted
// one freeze in Chromium about one time in two); going up happens at
// a switching-up point: for VP9 a picture whose U bit is set and whose
// temporal layer the subscriber already gets (Chromium sets U when every
// higher temporal layer may switch at that frame), or a key frame; for
// AV1 the decode target of the (spatial, temporal) pair is followed
// (av1Follow) and moved to at a frame that is a switch point of it.
// Dropped packets leave the sequence numbers (forwarder.skip); picture IDs
// keep the gaps of the dropped pictures, which the decoder's VP9 reference
// finder expects (they are the missing pictures of layers it does not
// get).
//
// A track relayed from another node (one stream per spatial layer,
// svc_sink.go) gets temporal steps on the far node too, on the stream
// forwarded: VP9 by the descriptor's TID and U bit, AV1 by following the
// decode target of the stream's spatial layer (av1Relayed). The trunk
// carries only the temporal layers the far node's subscribers want
// (svc_upstream.go asks for them, svc_cut.go cuts the rest).

// svcTemporal is how many temporal steps the selector offers per spatial
// layer: temporal layer 0, layers 0-1, every layer.
const svcTemporal = 3

// allTemporal asks for every temporal layer a stream has (AV1 allows 8).
const allTemporal = ddMaxTemporal

// temporalLayer is the highest temporal layer forwarded at a step: the
// top step is every layer.
func temporalLayer(step int) int {
	if step < 0 || step >= svcTemporal-1 {
		return allTemporal
	}
	return step
}

// ladderIndex and fromLadder convert between the selector's layer index of
// a track with temporal steps and (spatial layer, temporal step).
func ladderIndex(spatial, step int) int {
	if spatial < 0 {
		return -1
	}
	return spatial*svcTemporal + step
}

func fromLadder(l int) (spatial, step int) {
	if l < 0 {
		return -1, svcTemporal - 1
	}
	return l / svcTemporal, l % svcTemporal
}

// temporalSettle is how many pictures a subscriber gets at one temporal
// step before the next step down: at 10 fps, 2 s, in which a receiver's
// average frame interval moves most of the way to the new one.
const temporalSettle = 20

// temporalFollow holds the temporal layer one subscriber of a VP9 stream
// gets: target is the highest layer wanted, current the highest forwarded
// (allTemporal: all); pics counts the pictures forwarded since the last
// step down. AV1 uses target and pics (the layer held is its decode
// target's). Under DownTrack.mu.
type temporalFollow struct {
	target, current int
	pics            int
	top             int // VP9: the highest temporal layer seen
}

// newTemporalFollow forwards every temporal layer.
func newTemporalFollow() temporalFollow {
	return temporalFollow{target: allTemporal, current: allTemporal, pics: temporalSettle}
}

// next is the temporal layer to move to from cur (the highest one the
// stream has, not allTemporal): the target, but down one step at a time,
// each after temporalSettle pictures.
func (t *temporalFollow) next(cur int) int {
	switch {
	case t.target >= cur:
		return t.target
	case t.pics < temporalSettle:
		return cur
	}
	return max(t.target, cur-1)
}

// moved records a change of the layer forwarded from cur to to.
func (t *temporalFollow) moved(cur, to int) {
	if to < cur {
		t.pics = 0
	}
}

// keep moves towards the target at a picture start where allowed and
// reports whether the packet is forwarded.
func (t *temporalFollow) keep(v *svcFrame) bool {
	t.top = max(t.top, int(v.tid))
	if v.tuStart {
		to := t.current
		switch {
		case v.keyframe:
			to = t.target
		case t.target < t.current:
			to = t.next(min(t.current, t.top))
		case t.target > t.current && v.upSwitch && int(v.tid) <= t.current:
			to = t.target
		}
		t.moved(t.current, to)
		t.current = to
	}
	keep := int(v.tid) <= t.current
	if keep && v.tuStart {
		t.pics++
	}
	return keep
}

// temporalSteps is how many temporal steps the selector offers for the
// track: svcTemporal for an SVC track, for VP9 and for AV1 with the
// dependency descriptor (whose simulcast streams, relayed SVC layers among
// them, say the temporal layer in every packet), else one.
func (r *Receiver) temporalSteps() int {
	if r.svc || r.ck == codecVP9 || r.ck == codecAV1 && r.dd != 0 {
		return svcTemporal
	}
	return 1
}

// av1Relayed is svcFilter for a stream of an AV1 track that is not SVC
// here (a spatial layer relayed from another node, layer): the decode
// target of that spatial layer at the temporal layer wanted is followed,
// as av1Filter does. The packet is one of the stream forwarded.
func (s *svcState) av1Relayed(v *svcFrame, layer int) bool {
	cur := s.av1.temporal(v)
	in, _, _ := s.av1.step(v, layer, s.temporal.next(cur))
	s.temporal.current = s.av1.temporal(v) // what the upstream must carry (svc_upstream.go)
	s.temporal.moved(cur, s.temporal.current)
	if in && s.av1.ends(v) {
		s.temporal.pics++
	}
	return in
}

// temporalMeter measures, per row (an SVC track's spatial layer, else a
// simulcast stream) and temporal step, the bytes and the pictures of the
// temporal layers up to the step. The writer goroutines add; the tick
// (under Receiver.mu) turns the counts into rates.
type temporalMeter struct {
	bytes, frames [svcLayers][svcTemporal]atomic.Uint64

	// Under Receiver.mu.
	prevBytes, prevFrames [svcLayers][svcTemporal]uint64
	// uncarried: how many of a row's top steps its upstream is asked not
	// to carry (svc_upstream.go); those keep their last figures.
	uncarried [svcLayers]int
	at        time.Time
	rate      [svcLayers][svcTemporal]float64 // bits/s, smoothed; 0 unmeasured
	fps       [svcTemporal]float64            // pictures/s up to each step, smoothed
}

// nominalShare is the share of a layer's bytes in the temporal layers up
// to each step, before it is measured (a base-layer picture costs more
// than an upper-layer one).
var nominalShare = [svcTemporal]float64{0.6, 0.8, 1}

// nominalFPS is the frame rate assumed before it is measured.
const nominalFPS = 30

// addVP9 counts a VP9 packet of row.
func (m *temporalMeter) addVP9(row int, v *svcFrame, n int) {
	if row < 0 || row >= svcLayers {
		return
	}
	for t := min(int(v.tid), svcTemporal-1); t < svcTemporal; t++ {
		m.bytes[row][t].Add(uint64(n))
		if v.tuStart {
			m.frames[row][t].Add(1)
		}
	}
}

// addAV1 counts an AV1 SVC packet in every (spatial, temporal step)
// decode target that has its frame.
func (m *temporalMeter) addAV1(v *svcFrame, n int) {
	for i := range svcLayers {
		m.addAV1Row(i, i, v, n)
	}
}

// addAV1Row counts an AV1 packet in row for each temporal step whose
// decode target of spatial layer i has its frame.
func (m *temporalMeter) addAV1Row(row, i int, v *svcFrame, n int) {
	if row < 0 || row >= svcLayers {
		return
	}
	for t := range svcTemporal {
		d := v.st.target(i, temporalLayer(t), v.active)
		if d < 0 || v.dd.dti[d] == dtiNotPresent {
			continue
		}
		m.bytes[row][t].Add(uint64(n))
		if v.dd.start && v.sid == v.st.dtSpatial[d] {
			m.frames[row][t].Add(1)
		}
	}
}

// measure updates the rates, once per rateWindow (with tick).
func (m *temporalMeter) measure(now time.Time) {
	if !m.at.IsZero() && now.Sub(m.at) < rateWindow {
		return
	}
	dt := now.Sub(m.at).Seconds()
	first := m.at.IsZero()
	var fps [svcTemporal]float64
	// measured: a row that carries the step had pictures (while some row
	// is cut upstream, an empty row says nothing of the frame rate).
	var measured [svcTemporal]bool
	anyCut := slices.ContainsFunc(m.uncarried[:], func(u int) bool { return u > 0 })
	for row := range svcLayers {
		for t := range svcTemporal {
			b, f := m.bytes[row][t].Load(), m.frames[row][t].Load()
			if !first && t < svcTemporal-m.uncarried[row] {
				inst := float64(b-m.prevBytes[row][t]) * 8 / dt
				m.rate[row][t] = smooth(m.rate[row][t], inst)
				fps[t] = max(fps[t], float64(f-m.prevFrames[row][t])/dt)
				measured[t] = measured[t] || f > m.prevFrames[row][t] || !anyCut
			}
			m.prevBytes[row][t], m.prevFrames[row][t] = b, f
		}
	}
	if !first {
		for t := range fps {
			if measured[t] {
				m.fps[t] = smooth(m.fps[t], fps[t])
			}
		}
	}
	m.at = now
}

func smooth(old, inst float64) float64 {
	if old == 0 {
		return inst
	}
	return (old + inst) / 2
}

// share is the part of row's bytes (with cumulative, of the rows up to
// it: VP9 SVC, whose spatial layer i is the frames of layers 0..i) in the
// temporal layers up to step t.
func (m *temporalMeter) share(row, t int, cumulative bool) float64 {
	lo := row
	if cumulative {
		lo = 0
	}
	var part, all float64
	for r := lo; r <= row && r < svcLayers; r++ {
		part += m.rate[r][t]
		all += m.rate[r][svcTemporal-1]
	}
	if all <= 0 {
		return nominalShare[t]
	}
	return part / all
}

// frameRate is the frame rate of the temporal layers up to step t.
func (m *temporalMeter) frameRate(t int) float64 {
	if f := m.fps[t]; f > 0 {
		return f
	}
	return nominalFPS / float64(int(1)<<(svcTemporal-1-t))
}

// ladderLocked spreads the per-layer costs over the temporal steps; steps
// above maxStep are unavailable (0). Under Receiver.mu.
func (r *Receiver) ladderLocked(rows []int, maxStep int) []int {
	out := make([]int, len(rows)*svcTemporal)
	cumulative := r.svc && r.ck == codecVP9
	for s, b := range rows {
		scale := 1.0 // a row cut upstream costs what its whole stream would
		if s < svcLayers && r.tm.uncarried[s] > 0 && !cumulative {
			if top := r.tm.share(s, svcTemporal-1-r.tm.uncarried[s], false); top > 0 {
				scale = 1 / top
			}
		}
		for t := 0; t <= maxStep; t++ {
			if b > 0 {
				out[ladderIndex(s, t)] = max(int(float64(b)*scale*r.tm.share(s, t, cumulative)), 30_000)
			}
		}
	}
	return out
}

// maxStepLocked is the highest temporal step whose frame rate stays
// within fps (with a margin for the measurement); every step when fps is
// 0 (no preference). Under Receiver.mu.
func (r *Receiver) maxStepLocked(fps float64) int {
	if fps <= 0 {
		return svcTemporal - 1
	}
	for t := svcTemporal - 1; t > 0; t-- {
		if r.tm.frameRate(t) <= fps*1.15 {
			return t
		}
	}
	return 0
}

// temporalBitrates are the selector's costs for a track with temporal
// steps, as a ladder (ladderIndex), and the highest step a frame-rate
// preference of fps allows.
func (r *Receiver) temporalBitrates(now time.Time, fps float64) (ladder []int, maxStep int) {
	rows := r.layerBitrates(now)
	r.mu.Lock()
	defer r.mu.Unlock()
	maxStep = r.maxStepLocked(fps)
	return r.ladderLocked(rows, maxStep), maxStep
}

// temporalHeld reports whether the selector holds the track below the
// frame rate the subscriber allows (a cap of fps; 0 none), for want of
// bandwidth: its connection quality is at most good, as for a layer below
// the view preference (grade.go).
func (d *DownTrack) temporalHeld(fps float64) bool {
	if d.r.temporalSteps() < 2 {
		return false
	}
	d.r.mu.Lock()
	maxStep := d.r.maxStepLocked(fps)
	d.r.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.decided >= 0 && !d.muted && d.decidedT < maxStep
}
