package sfu

// svcFrame is what SVC forwarding (svc.go, svc_sink.go) needs of one
// packet, whatever the codec: VP9 says it in its payload descriptor, AV1
// in the dependency descriptor (dd.go).
//
// A VP9 spatial layer i is every frame of spatial layer i or below. An AV1
// spatial layer i is a decode target, the one of spatial layer i (at most;
// fewer when the publisher encodes fewer) and its highest temporal layer:
// a frame belongs to it when its decode target indication (DTI) for that
// target is not "not present" (so an L3T3_KEY stream's S1 target is the
// key frame's S0 frame and the S1 frames), and a switch up to it happens at
// a frame that is a switch point for it.
type svcFrame struct {
	ok       bool // parsed: the packet can be placed in a layer
	sid      uint8
	tuStart  bool // the first packet of a picture (temporal unit): switches happen here
	frameEnd bool // the last packet of a layer frame
	keyframe bool
	// VP9: the temporal layer, and the switching-up point (U): layers
	// above tid may be added from this picture on (svc_temporal.go).
	tid      uint8
	upSwitch bool
	// AV1: the descriptor, the stream's structure and its active decode
	// targets; dd nil for VP9.
	dd     *ddFrame
	st     *ddStructure
	active uint32
}

// av1Target is the decode target forwarded for spatial layer i at its
// highest temporal layer (-1: none).
func (f *svcFrame) av1Target(i int) int {
	return f.st.target(i, allTemporal, f.active)
}

// in reports whether the frame belongs to spatial layer i as forwarded.
func (f *svcFrame) in(i int) bool {
	if i < 0 {
		return false
	}
	if f.dd == nil {
		return int(f.sid) <= i
	}
	d := f.av1Target(i)
	return d >= 0 && f.dd.dti[d] != dtiNotPresent
}

// ends reports whether the packet ends spatial layer i's picture: the last
// packet of the frame of its top spatial layer, where the marker bit goes.
func (f *svcFrame) ends(i int) bool {
	if !f.frameEnd {
		return false
	}
	if f.dd == nil {
		return int(f.sid) == i
	}
	d := f.av1Target(i)
	return d >= 0 && f.sid == f.st.dtSpatial[d]
}

// switchToTarget reports whether forwarding may move to AV1 decode target
// d at this packet: a key frame, or the start of a frame that is a switch
// point of d whose chain is intact: the chain's previous frame was sent
// (sent reports it).
func (f *svcFrame) switchToTarget(d int, sent *ddSent) bool {
	if f.keyframe {
		return true
	}
	if !f.dd.start || d < 0 || d >= f.st.dtCnt || f.dd.dti[d] != dtiSwitch {
		return false
	}
	if f.st.chainCnt == 0 {
		return true
	}
	back := f.dd.chains[f.st.protectedBy[d]]
	return back == 0 || sent.has(f.dd.frameNumber-uint16(back))
}

// ddSent remembers the frame numbers of the last AV1 frames sent to one
// subscriber, for switchTo's chain check.
type ddSent struct{ fn [256]uint32 } // frame number + 1; 0: none

func (s *ddSent) add(fn uint16)      { s.fn[fn%256] = uint32(fn) + 1 }
func (s *ddSent) has(fn uint16) bool { return s.fn[fn%256] == uint32(fn)+1 }

// vp9SVC places a VP9 packet by its payload descriptor.
func vp9SVC(d *vp9Descriptor) svcFrame {
	return svcFrame{ok: true, sid: d.sid, tuStart: d.start && d.sid == 0, frameEnd: d.end, keyframe: d.keyframe,
		tid: d.tid, upSwitch: d.switchUp}
}

// ddState is one incoming stream's dependency descriptor state: the
// latest template structure and active decode targets. Used by the
// stream's writer goroutine only.
type ddState struct {
	st     *ddStructure
	active uint32
	frame  ddFrame
}

// parseAV1 places an AV1 packet by its dependency descriptor ext (the
// extension's bytes; nil when absent). An N bit in the aggregation header
// or an attached structure makes a key frame. bad reports a descriptor
// that could not be parsed (malformed, or referring to a structure not
// received yet); the packet is then placed in no layer.
func (s *ddState) parseAV1(ext, payload []byte) (_ svcFrame, bad bool) {
	key := av1Keyframe(payload)
	if len(ext) == 0 {
		return svcFrame{keyframe: key}, false
	}
	f, err := parseDD(ext, s.st)
	if err != nil {
		return svcFrame{keyframe: key}, true
	}
	if f.structure != nil {
		s.st = f.structure
	}
	if f.hasActive {
		s.active = f.active
	}
	s.frame = f
	return svcFrame{ok: true, sid: f.spatial, tuStart: f.start && f.spatial == 0, frameEnd: f.end,
		keyframe: f.start && (f.keyframe() || key), dd: &s.frame, st: s.st, active: s.active}, false
}

// ddFrameNumber returns the descriptor raw with its frame number set to
// fn, in buf when it changes (raw is not modified).
func ddFrameNumber(buf, raw []byte, fn uint16) []byte {
	if len(raw) < 3 || len(raw) > len(buf) || uint16(raw[1])<<8|uint16(raw[2]) == fn {
		return raw
	}
	out := buf[:copy(buf, raw)]
	out[1], out[2] = byte(fn>>8), byte(fn)
	return out
}
