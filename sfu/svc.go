package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Scalable video (SVC): one RTP stream carries every spatial and temporal
// layer, and the SFU drops the packets of the layers a subscriber does not
// need. A VP9 track published with one encoding (no simulcast rids) is
// taken as SVC (the page sends L3T3_KEY with &svc=1; Chromium encodes as
// many spatial layers as the capture size allows: two at 640x360, three
// at 1280x720): its spatial layers are the track's layers as the selector
// sees them (small, medium, large), chosen by the same rules as simulcast
// layers (view preference, bandwidth estimate, hold), and each one's cost
// is measured from the bytes of its spatial layer and those below. A
// switch down happens at the next picture; a switch up waits for a key
// frame (L3T3_KEY upper layers depend on lower ones only there), which is
// asked for, so a switch never freezes. Packets dropped are taken out of
// the sequence number space, and the marker bit is set on the last packet
// of the highest layer forwarded, so the subscriber sees a complete stream
// of fewer layers.
//
// AV1 (an AV1 track of one stream whose packets carry the dependency
// descriptor, dd.go; the page sends L3T3_KEY with &codec=av1&svc=1) is
// SVC the same way, with its layers read from the descriptor
// (svc_frame.go): spatial layer i is the decode target of spatial layer i
// and its highest temporal layer, a subscriber gets the frames whose
// indication for it is not "not present", and a switch, up or down,
// happens at a frame that is a switch point of the new target and whose
// chain (the target's previous frames) the subscriber has, else at a key
// frame, which is asked for. Down needs it too: in L3T3_KEY an upper
// target holds no lower-layer frames after the key frame. The descriptor
// is passed on unchanged (its active decode targets are not rewritten:
// Chromium decodes the subset without it, TestBrowserAV1SVCAcrossTrunk).
//
// Across trunks (svc_sink.go) each spatial layer leaves the node as its
// own decodable stream, so the far node handles the track as simulcast
// and carries only the layers its subscribers want, and of each only the
// temporal layers they want (svc_upstream.go, svc_cut.go). Dynacast
// pauses the one encoding at the publisher when nobody watches it.
//
// Temporal layers (frame-rate steps) are chosen with the spatial layer,
// svc_temporal.go.
//
// Not done: dynacast does not drop single spatial layers at the
// publisher (that takes a change of scalabilityMode together with
// scaleResolutionDownBy, since L1T3 would encode the full size); the
// number of spatial layers is taken as three whatever the publisher's
// scalability structure says, so at 640x360 "medium" and "large" are the
// same stream.

// svcLayers is how many spatial layers an SVC track offers the selector.
const svcLayers = 3

// isSVC reports whether the receiver's track is forwarded as SVC.
func (r *Receiver) isSVC() bool { return svcTrack(r.kind, r.codec.MimeType, len(r.layers), r.dd) }

// svcTrack: a VP9 video track of one stream is taken as SVC, and so is an
// AV1 one whose packets carry the dependency descriptor (extension ID dd).
func svcTrack(kind webrtc.RTPCodecType, mime string, streams int, dd uint8) bool {
	if kind != webrtc.RTPCodecTypeVideo || streams != 1 {
		return false
	}
	switch codecKindOf(mime) {
	case codecVP9:
		return true
	case codecAV1:
		return dd != 0
	}
	return false
}

// layerCount is the number of layers the selector chooses among.
func (r *Receiver) layerCount() int {
	if r.svc {
		return svcLayers
	}
	return len(r.layers)
}

// countSVC adds a packet's bytes to its spatial layer (writer goroutine).
func (r *Receiver) countSVC(sid uint8, n int) {
	if int(sid) < svcLayers {
		r.svcBytes[sid].Add(uint64(n))
	}
}

// countAV1 adds an AV1 packet's bytes to every spatial layer whose
// decode target has the frame (writer goroutine): a layer's cost is
// measured as its subscribers receive it. In KEY structures an upper
// target holds no lower-layer frames after the key frame, so summing the
// spatial layers below, as for VP9, would over-count it.
func (r *Receiver) countAV1(f *svcFrame, n int) {
	for i := range svcLayers {
		if f.in(i) {
			r.svcBytes[i].Add(uint64(n))
		}
	}
}

// svcRate is one spatial layer's measured bitrate, under Receiver.mu.
type svcRate struct {
	bytes   uint64
	at      time.Time
	bitrate int
}

// measureSVCLocked updates the spatial layers' bitrates (with tick).
func (r *Receiver) measureSVCLocked(now time.Time) {
	for i := range r.svcRates {
		s := &r.svcRates[i]
		b := r.svcBytes[i].Load()
		if s.at.IsZero() {
			s.bytes, s.at = b, now
			continue
		}
		dt := now.Sub(s.at)
		if dt < rateWindow {
			continue
		}
		inst := int(float64(b-s.bytes) * 8 / dt.Seconds())
		s.bitrate = (s.bitrate + inst) / 2
		s.bytes, s.at = b, now
	}
}

// svcBitratesLocked are the selector's costs: spatial layer i costs its
// bytes and those of the layers below (AV1: its decode target's bytes,
// countAV1); a layer not measured yet costs its
// nominal share; nothing when the stream does not arrive (0 marks
// unavailable).
func (r *Receiver) svcBitratesLocked(now time.Time) []int {
	out := make([]int, svcLayers)
	if !r.arriving(r.layers[0], now) {
		for i := range out {
			out[i] = svcNominal[i]
		}
		return out
	}
	sum := 0
	for i := range out {
		b := r.svcRates[i].bitrate
		switch {
		case b <= 0:
			sum = svcNominal[i]
		case r.ck == codecAV1: // measured per decode target (countAV1)
			sum = b
		default:
			sum += b
		}
		out[i] = max(sum, 30_000)
	}
	return out
}

// svcNominal: what spatial layers up to i cost before they are measured.
var svcNominal = [svcLayers]int{150_000, 500_000, 1_500_000}

// svcState is a down-track's choice of spatial layer; under DownTrack.mu.
type svcState struct {
	target  int  // the selector's decision (-1 paused)
	current int  // the spatial layer being forwarded (-1 none yet)
	mark    bool // the packet being sent ends the forwarded picture
	// AV1: the decode target held, and whether another one is wanted (a
	// key frame is asked for until it comes).
	av1     av1Follow
	pending bool
	// temporal: the temporal layer (svc_temporal.go); also used for the
	// VP9 streams of a track that is not SVC here (a relayed one).
	temporal temporalFollow
}

// svcFilter decides whether the packet is forwarded to this subscriber,
// and moves between spatial layers at picture starts.
func (d *DownTrack) svcFilter(in *inPacket) bool {
	s := &d.svc
	v := &in.svc
	if !v.ok {
		return false
	}
	if v.dd != nil {
		return s.av1Filter(v)
	}
	if s.target != s.current && s.target >= 0 && (s.target < s.current && v.tuStart || v.keyframe) {
		s.current = s.target
	}
	s.mark = false
	if !v.in(s.current) || !s.temporal.keep(v) {
		return false
	}
	s.mark = v.ends(s.current)
	return true
}

// av1Filter is svcFilter for AV1, by decode target (av1Follow): the
// target of the spatial layer and temporal layer wanted.
func (s *svcState) av1Filter(v *svcFrame) bool {
	cur := s.av1.temporal(v)
	tl := s.temporal.next(cur)
	in, at, pending := s.av1.step(v, s.target, tl)
	if at {
		s.current = s.target
	}
	s.temporal.moved(cur, s.av1.temporal(v))
	s.pending = pending
	s.mark = in && s.av1.ends(v)
	if s.mark {
		s.temporal.pics++
	}
	return in
}

// av1Follow holds the AV1 decode target one receiver of an SVC stream
// gets (a subscriber, or a trunk's stream of a spatial layer): the one of
// the wanted spatial layer is taken, either way, at a switch point whose
// chain this receiver has. Down too: an L3T3_KEY stream's upper target
// lacks the lower layer's frames after the key frame, so going down
// mostly waits for a key frame. Two layers of one target ("medium" and
// "large" of a stream of two spatial layers) need no switch; a target the
// publisher made inactive is held until the next one's switch point.
type av1Follow struct {
	dt   int     // -1: none yet
	sent *ddSent // nil until the first packet (most down-tracks are not AV1 SVC)
}

// step moves towards the target of spatial layer i (i < 0: none) and
// temporal layer tl where allowed. in: the packet belongs to the target
// held; at: that is i's target (at some temporal layer); pending: a target
// of another spatial layer is wanted but not reached (a temporal switch
// waits for its switch point, which comes every few frames, without
// asking for a key frame).
func (a *av1Follow) step(v *svcFrame, i, tl int) (in, at, pending bool) {
	if a.sent == nil {
		a.sent, a.dt = &ddSent{}, -1
	}
	if i >= 0 {
		want := v.st.target(i, tl, v.active)
		switch {
		case want < 0:
		case want == a.dt:
			at = true
		case v.switchToTarget(want, a.sent):
			a.dt, at = want, true
		case a.dt >= 0 && a.dt < v.st.dtCnt && v.st.dtSpatial[a.dt] == v.st.dtSpatial[want]:
			at = true // the spatial layer is there; the frame rate follows at a switch point
		default:
			pending = true
		}
	}
	if a.dt < 0 || a.dt >= v.st.dtCnt || v.dd.dti[a.dt] == dtiNotPresent {
		return false, at, pending
	}
	if v.dd.start {
		a.sent.add(v.dd.frameNumber)
	}
	return true, at, pending
}

// temporal is the highest temporal layer of the target held (allTemporal
// while none is).
func (a *av1Follow) temporal(v *svcFrame) int {
	if a.dt < 0 || a.dt >= v.st.dtCnt {
		return allTemporal
	}
	return int(v.st.dtTemporal[a.dt])
}

// ends reports whether the packet, of the target held, ends its top frame.
func (a *av1Follow) ends(v *svcFrame) bool {
	return v.frameEnd && a.dt >= 0 && v.sid == v.st.dtSpatial[a.dt]
}

// svcLayerName names a spatial layer for clients.
func svcLayerName(i int) string {
	switch {
	case i < 0:
		return "paused"
	case i == 0:
		return "small"
	case i == svcLayers-1:
		return "large"
	}
	return "medium"
}
