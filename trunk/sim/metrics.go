package sim

import (
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/trunk"
)

// flowID names one layer of one track.
type flowID struct {
	ref   trunk.TrackRef
	layer int
}

// frameSlot follows one frame's packets at one place.
type frameSlot struct {
	frame      uint32
	got, count uint16
	valid      bool
	done       time.Time
}

const frameRing = 64

// frameRingT finds frames by number in a small ring: frames older than
// the ring are forgotten.
type frameRingT [frameRing]frameSlot

// add counts a packet of its frame and reports whether it completed it.
func (r *frameRingT) add(fi frameInfo, now time.Time) bool {
	s := &r[fi.frame%frameRing]
	if !s.valid || s.frame != fi.frame {
		*s = frameSlot{frame: fi.frame, count: fi.count, valid: true}
	}
	if !s.done.IsZero() {
		return false
	}
	s.got++
	if s.got >= s.count {
		s.done = now
		return true
	}
	return false
}

// doneAt is when the frame completed here (zero: not, or forgotten).
func (r *frameRingT) doneAt(frame uint32) time.Time {
	s := &r[frame%frameRing]
	if !s.valid || s.frame != frame {
		return time.Time{}
	}
	return s.done
}

// hopTrack follows one layer's frames through one node (the Core's Tap).
type hopTrack struct{ ring frameRingT }

// recvTrack follows one layer a node's viewers watch, as delivered to
// them: latency end to end, stalls, and the frames that should have come.
type recvTrack struct {
	node    *Node
	id      flowID
	kind    string
	watchAt time.Time
	ring    frameRingT

	pub        *pubLayer // the publisher's layer, for the frames it sent
	started    bool
	startFrame uint32
	last       time.Time // latest completion
	completed  uint64    // frames ≥ startFrame completed
	recent     [256]uint32
	nrecent    int

	pending time.Time // a failure happened then: is this layer hit?
}

// Metrics are what a run measured. Histograms hold video frames unless
// named otherwise.
type Metrics struct {
	n *Network

	E2E      netsim.DelayHistogram // publisher send → frame complete at the viewers' node
	E2EAudio netsim.DelayHistogram
	Hop      netsim.DelayHistogram // frame complete at a node → at the next
	ByPair   map[[2]string]*netsim.DelayHistogram
	Join     netsim.DelayHistogram // viewers start watching → first frame

	Stalls600, AudioStalls200 int
	FramesExpected            uint64
	FramesDelivered           uint64
	Reroutes                  []time.Duration
	rerouteWho                []string
	NotRecovered              int
	Failures                  int
	JoinErrors                int
	keyframes                 uint64
	sentPackets, sentBytes    uint64

	// recv holds the layers each node's viewers watch, by the layer's
	// SSRC (Network.ssrc): found from a packet without hashing its name.
	recv map[*Node]map[uint32]*recvTrack

	// per second of the run
	second    int
	secHist   netsim.DelayHistogram
	secFrames int
	secStalls int
	lastCtrl  uint64
	Series    []SecondStats
}

// SecondStats is one second of a run.
type SecondStats struct {
	At        float64 `json:"t"`
	Frames    int     `json:"frames"`
	Stalls    int     `json:"stalls"`
	P95Ms     float64 `json:"p95_ms"`
	CtrlPerNo float64 `json:"ctrl_msgs_per_node"`
}

// rerouteGap: a layer is hit by a failure when the first frame sent after
// it comes this much later than the frame before.
const rerouteGap = 200 * time.Millisecond

// expectTail: frames sent this close to a layer's end are not required
// (they may still be on their way).
const expectTail = time.Second

func newMetrics(n *Network) *Metrics {
	return &Metrics{n: n, ByPair: map[[2]string]*netsim.DelayHistogram{}, recv: map[*Node]map[uint32]*recvTrack{}}
}

// sent counts a packet a publisher sent.
func (m *Metrics) sent(_ *Node, _ trunk.TrackRef, _ int, b []byte) {
	m.sentPackets++
	m.sentBytes += uint64(len(b))
}

// watch starts following a layer a node's viewers watch.
func (m *Metrics) watch(nd *Node, ref trunk.TrackRef, layer int, kind string, now time.Time) {
	byID := m.recv[nd]
	if byID == nil {
		byID = map[uint32]*recvTrack{}
		m.recv[nd] = byID
	}
	ssrc := m.n.ssrc(ref, layer)
	if byID[ssrc] != nil {
		m.close(byID[ssrc], now)
	}
	byID[ssrc] = &recvTrack{node: nd, id: flowID{ref, layer}, kind: kind, watchAt: now}
}

// unwatch stops following a layer.
func (m *Metrics) unwatch(nd *Node, ref trunk.TrackRef, layer int, now time.Time) {
	ssrc := m.n.ssrc(ref, layer)
	if rt := m.recv[nd][ssrc]; rt != nil {
		m.close(rt, now)
		delete(m.recv[nd], ssrc)
	}
}

// nodeGone closes every layer a node's viewers watched.
func (m *Metrics) nodeGone(nd *Node) {
	now := m.n.sim.Now()
	for _, rt := range m.recv[nd] {
		m.close(rt, now)
	}
	delete(m.recv, nd)
}

// close settles a layer's expected frames.
func (m *Metrics) close(rt *recvTrack, now time.Time) {
	if !rt.pending.IsZero() {
		m.NotRecovered++
	}
	if !rt.started || rt.pub == nil {
		return
	}
	cutoff, ok := rt.pub.lastBefore(now.Add(-expectTail))
	if !ok || cutoff < rt.startFrame {
		return
	}
	late := 0
	for i := range min(rt.nrecent, len(rt.recent)) {
		if rt.recent[i] > cutoff {
			late++
		}
	}
	m.FramesExpected += uint64(cutoff-rt.startFrame) + 1
	m.FramesDelivered += min(rt.completed-uint64(late), uint64(cutoff-rt.startFrame)+1)
}

// finish settles every open layer at the end of a run.
func (m *Metrics) finish(now time.Time) {
	for _, nd := range m.n.order {
		for _, rt := range m.recv[nd] {
			m.close(rt, now)
			rt.started = false
		}
	}
	m.rollSecond(now, true)
}

// reset forgets everything measured so far (the warm-up), and restarts
// the count of expected frames of every open layer.
func (m *Metrics) reset() {
	recv, ctrl := m.recv, m.lastCtrl
	*m = *newMetrics(m.n)
	m.recv, m.lastCtrl = recv, ctrl
	m.second = int(m.n.sim.Elapsed() / time.Second)
	for _, byID := range recv {
		for _, rt := range byID {
			if rt.started {
				rt.startFrame = lastCompleted(rt) + 1
				rt.completed, rt.nrecent = 0, 0
			}
			rt.pending = time.Time{}
		}
	}
}

func lastCompleted(rt *recvTrack) uint32 {
	var best uint32
	for _, s := range rt.ring {
		if s.valid && !s.done.IsZero() && s.frame > best {
			best = s.frame
		}
	}
	return best
}

// delivered follows a packet handed to a node's viewers.
func (m *Metrics) delivered(nd *Node, ref trunk.TrackRef, layer int, b []byte, now time.Time) {
	fi, ok := parsePacket(b)
	if !ok {
		return
	}
	rt := m.recv[nd][fi.ssrc]
	if rt == nil || !rt.ring.add(fi, now) {
		return
	}
	if !rt.started {
		rt.started, rt.startFrame = true, fi.frame
		m.Join.Add(now.Sub(rt.watchAt))
		if on := m.n.nodes[ref.Origin]; on != nil && on.local != nil {
			if pt := on.local.own[ref]; pt != nil && layer < len(pt.layers) {
				rt.pub = pt.layers[layer]
			}
		}
	} else if fi.frame < rt.startFrame {
		return
	}
	rt.completed++
	rt.recent[rt.nrecent%len(rt.recent)] = fi.frame
	rt.nrecent++
	lat := now.Sub(time.Unix(0, fi.sent))
	gap := now.Sub(rt.last)
	if rt.kind == "audio" {
		m.E2EAudio.Add(lat)
		if !rt.last.IsZero() && gap > 200*time.Millisecond {
			m.AudioStalls200++
		}
	} else {
		m.E2E.Add(lat)
		m.secHist.Add(lat)
		m.secFrames++
		key := [2]string{m.n.nodes[ref.Origin].Spec.Region, nd.Spec.Region}
		h := m.ByPair[key]
		if h == nil {
			h = &netsim.DelayHistogram{}
			m.ByPair[key] = h
		}
		h.Add(lat)
		if !rt.last.IsZero() && gap > 600*time.Millisecond {
			m.Stalls600++
			m.secStalls++
		}
	}
	// The first frame sent after a failure tells whether it hit the layer:
	// the media gap the viewers saw is the time since the frame before.
	if !rt.pending.IsZero() && fi.sent >= rt.pending.UnixNano() {
		if gap > rerouteGap {
			m.Reroutes = append(m.Reroutes, gap)
			m.rerouteWho = append(m.rerouteWho, nd.Spec.Name+" "+ref.String()+" "+rt.kind+" "+now.Sub(rt.pending).String())
		}
		rt.pending = time.Time{}
	}
	if now.After(rt.last) {
		rt.last = now
	}
}

// failure marks every layer flowing now, but those published on the
// failed node (lost with it): the next frame of each says whether the
// failure hit it, and how long until media came back.
func (m *Metrics) failure(now time.Time, node string) {
	m.Failures++
	for _, nd := range m.n.order {
		for _, rt := range m.recv[nd] {
			if rt.id.ref.Origin != node && rt.started && now.Sub(rt.last) < rerouteGap && rt.pending.IsZero() {
				rt.pending = now
			}
		}
	}
}

// tap follows a packet a node's Core accepted from a trunk: per-hop
// latency of the frame it completes.
func (nd *Node) tap(now time.Time, from string, ref trunk.TrackRef, layer int, b []byte) {
	fi, ok := parsePacket(b)
	if !ok {
		return
	}
	ht := nd.hops[fi.ssrc]
	if ht == nil {
		ht = &hopTrack{}
		nd.hops[fi.ssrc] = ht
	}
	if !ht.ring.add(fi, now) || len(b) == 0 || ref.Origin == "" {
		return
	}
	var prev time.Time
	if from == ref.Origin {
		prev = time.Unix(0, fi.sent)
	} else if up := nd.net.nodes[from]; up != nil {
		if uh := up.hops[fi.ssrc]; uh != nil {
			prev = uh.ring.doneAt(fi.frame)
		}
	}
	if prev.IsZero() || fi.audio {
		return
	}
	nd.net.M.Hop.Add(now.Sub(prev))
}

// tick rolls the per-second series.
func (m *Metrics) tick(now time.Time) { m.rollSecond(now, false) }

func (m *Metrics) rollSecond(now time.Time, final bool) {
	sec := int(m.n.sim.Elapsed() / time.Second)
	if sec == m.second && !final {
		return
	}
	var ctrl uint64
	for _, nd := range m.n.order {
		for _, v := range nd.Counters().Control {
			ctrl += v.Msgs
		}
	}
	ss := SecondStats{At: float64(m.second), Frames: m.secFrames, Stalls: m.secStalls,
		P95Ms: float64(m.secHist.Quantile(0.95)) / 1e6}
	if m.lastCtrl > 0 && len(m.n.order) > 0 {
		ss.CtrlPerNo = float64(ctrl-m.lastCtrl) / float64(len(m.n.order))
	}
	m.lastCtrl = ctrl
	m.Series = append(m.Series, ss)
	m.second, m.secFrames, m.secStalls = sec, 0, 0
	m.secHist.Reset()
}

// Keyframes counts the key frames publishers were asked for and sent.
func (m *Metrics) Keyframes() uint64 { return m.keyframes }
