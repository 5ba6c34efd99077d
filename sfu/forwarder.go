package sfu

import "time"

// fwdPacket is what the forwarder needs to know about one incoming packet.
type fwdPacket struct {
	layer    int
	extSeq   uint64 // extended sequence number within its layer
	ts       uint32
	arrival  time.Time
	keyframe bool
	pic      *picFields // VP8 and VP9: picture ID and TL0PICIDX; nil otherwise
	fn       uint16     // AV1: the dependency descriptor's frame number, with hasFN
	hasFN    bool
}

// fwdResult says how one forwarded packet is to be sent.
type fwdResult struct {
	seq      uint16
	ts       uint32
	picID    uint16
	tl0      uint8
	fn       uint16 // AV1: the frame number as sent
	switched bool   // this packet starts a new epoch (first packet, layer switch or resume)
	mark     bool   // set the marker bit: the packet ends the picture as forwarded (SVC, svc.go)
}

// forwarder decides, packet by packet, what one down-track sends, and how
// the packet is renumbered so that the subscriber sees a single continuous
// stream whatever layer it comes from. It switches video layers only at a
// key frame of the new layer, keeps forwarding the old layer until then (so
// a switch never freezes the picture), and carries sequence numbers,
// timestamps, VP8 picture IDs and TL0PICIDX across switches, pauses and
// sequence number rollover. It is pure logic: time arrives with packets.
type forwarder struct {
	video     bool
	clockRate uint32
	target    int // wanted layer; -1 pauses
	current   int // layer being forwarded; -1 when none
	haveOut   bool

	// The current epoch: out = in + offset (modular arithmetic).
	seqOffset  uint64
	tsOffset   uint32
	picOffset  uint16
	tl0Offset  uint8
	fnOffset   uint16
	epochStart uint64

	// The newest packet sent, the base for the next epoch.
	lastOutExt uint64
	lastOutTS  uint32
	lastOutAt  time.Time
	lastPic    uint16
	lastPicOK  bool
	lastTL0    uint8
	lastTL0OK  bool
	lastFN     uint16
	lastFNOK   bool

	initSeq uint16
	initTS  uint32
	// skipped: packets were taken out of the sequence numbers (skip), so
	// an outgoing number no longer maps back by the epoch's offset.
	skipped bool
}

// newForwarder returns a forwarder whose output starts at initSeq and initTS
// (random in production, fixed in tests). It starts paused.
func newForwarder(video bool, clockRate uint32, initSeq uint16, initTS uint32) *forwarder {
	return &forwarder{video: video, clockRate: clockRate, target: -1, current: -1, initSeq: initSeq, initTS: initTS}
}

// setTarget sets the wanted layer (-1 pauses) and reports whether the layer
// being forwarded changed as a result (only pausing changes it at once).
func (f *forwarder) setTarget(layer int) (currentChanged bool) {
	f.target = layer
	if layer < 0 && f.current >= 0 {
		f.current = -1
		return true
	}
	return false
}

// keyframeWanted reports the layer a key frame is needed on: the target,
// while the forwarder is not yet on it.
func (f *forwarder) keyframeWanted() (layer int, ok bool) {
	if !f.video || f.target < 0 || f.current == f.target {
		return 0, false
	}
	return f.target, true
}

// restart forgets the layer being forwarded: what was sent of it never
// arrived (downtrack_unsent.go), so the next key frame starts a new epoch.
// Numbering continues from the last packet sent.
func (f *forwarder) restart() { f.current = -1 }

// closer reports whether a key frame on layer moves the forwarder to, or
// towards, its target.
func (f *forwarder) closer(layer int) bool {
	switch {
	case f.current < 0:
		return layer <= f.target
	case f.current < f.target:
		return layer > f.current && layer <= f.target
	case f.current > f.target:
		return layer < f.current && layer >= f.target
	}
	return false
}

// takes reports whether p belongs to the stream forwarded, or starts
// forwarding one (a key frame the forwarder switches at): the packets a
// filter in front of the forwarder (svc_temporal.go) follows.
func (f *forwarder) takes(p *fwdPacket) bool {
	switch {
	case f.target < 0:
		return false
	case p.layer == f.current:
		return p.extSeq >= f.epochStart
	}
	return f.video && p.keyframe && f.closer(p.layer)
}

// forward decides whether p is sent and how it is renumbered.
func (f *forwarder) forward(p *fwdPacket) (fwdResult, bool) {
	if f.target < 0 {
		f.current = -1
		return fwdResult{}, false
	}
	if p.layer == f.current {
		if p.extSeq < f.epochStart {
			return fwdResult{}, false // from before the switch
		}
		return f.mapPacket(p, false), true
	}
	if f.video {
		if !p.keyframe || !f.closer(p.layer) {
			return fwdResult{}, false
		}
	} else if f.current >= 0 {
		return fwdResult{}, false
	}
	f.startEpoch(p)
	f.current = p.layer
	return f.mapPacket(p, true), true
}

// startEpoch sets the offsets so that p follows the last packet sent.
func (f *forwarder) startEpoch(p *fwdPacket) {
	f.epochStart = p.extSeq
	if !f.haveOut {
		f.seqOffset = (1<<16 | uint64(f.initSeq)) - p.extSeq
		f.tsOffset = f.initTS - p.ts
		return
	}
	f.seqOffset = f.lastOutExt + 1 - p.extSeq
	ticks := uint32(1)
	if el := p.arrival.Sub(f.lastOutAt); el > 0 {
		if t := uint64(el) * uint64(f.clockRate) / uint64(time.Second); t > 1 {
			ticks = uint32(t)
		}
	}
	f.tsOffset = f.lastOutTS + ticks - p.ts
	f.picOffset, f.tl0Offset, f.fnOffset = 0, 0, 0
	if p.hasFN && f.lastFNOK {
		// AV1: a new layer's frames follow the last one sent, so that
		// the same frame from another layer stream (a switch at a key
		// frame both streams carry) is not taken for a duplicate.
		f.fnOffset = f.lastFN + 1 - p.fn
	}
	if p.pic != nil {
		if p.pic.hasPicID && f.lastPicOK {
			f.picOffset = f.lastPic + 1 - p.pic.picID
		}
		if p.pic.hasTL0 && f.lastTL0OK {
			f.tl0Offset = f.lastTL0 + 1 - p.pic.tl0
		}
	}
}

// apply maps p with the current epoch's offsets, changing no state.
func (f *forwarder) apply(p *fwdPacket) (fwdResult, uint64) {
	outExt := p.extSeq + f.seqOffset
	r := fwdResult{seq: uint16(outExt), ts: p.ts + f.tsOffset}
	if p.pic != nil {
		r.picID = (p.pic.picID + f.picOffset) & p.pic.picIDMask()
		r.tl0 = p.pic.tl0 + f.tl0Offset
	}
	r.fn = p.fn + f.fnOffset
	return r, outExt
}

// remap maps a packet of the current epoch that is sent again (a NACKed
// packet that was never sent) without touching the forwarder's state.
func (f *forwarder) remap(p *fwdPacket) (fwdResult, bool) {
	if p.layer != f.current || f.current < 0 || p.extSeq < f.epochStart {
		return fwdResult{}, false
	}
	r, _ := f.apply(p)
	return r, true
}

// mapPacket applies the current epoch's offsets to p and records it as sent.
func (f *forwarder) mapPacket(p *fwdPacket, switched bool) fwdResult {
	r, outExt := f.apply(p)
	r.switched = switched
	if !f.haveOut || outExt > f.lastOutExt {
		f.haveOut = true
		f.lastOutExt = outExt
		f.lastOutTS = r.ts
		f.lastOutAt = p.arrival
		if p.pic != nil {
			if p.pic.hasPicID {
				f.lastPic, f.lastPicOK = r.picID, true
			}
			if p.pic.hasTL0 {
				f.lastTL0, f.lastTL0OK = r.tl0, true
			}
		}
		if p.hasFN {
			f.lastFN, f.lastFNOK = r.fn, true
		}
	}
	return r
}

// skip takes a packet of the current epoch that is not sent (an SVC layer
// the subscriber does not get) out of the outgoing sequence numbers, so
// that the subscriber sees no gap for it. Packets of other layers, or from
// before the epoch, change nothing.
func (f *forwarder) skip(p *fwdPacket) {
	if f.current < 0 || p.layer != f.current || p.extSeq < f.epochStart || !f.haveOut {
		return
	}
	if p.extSeq+f.seqOffset > f.lastOutExt { // not a late one
		f.seqOffset--
		f.skipped = true
	}
}

// inputFor maps an outgoing sequence number back to the incoming extended
// sequence number of the current epoch, for NACKs of packets that were not
// sent (dropped while waiting for the switch point, or lost upstream and
// repaired since).
func (f *forwarder) inputFor(outSeq uint16) (layer int, extSeq uint64, ok bool) {
	if f.current < 0 || !f.haveOut || f.skipped {
		return 0, 0, false
	}
	diff := int16(outSeq - uint16(f.lastOutExt))
	outExt := uint64(int64(f.lastOutExt) + int64(diff))
	in := outExt - f.seqOffset
	if in < f.epochStart || in > f.epochStart+1<<20 {
		return 0, 0, false
	}
	return f.current, in, true
}
