package sfu

import (
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	// histSize is how many sent video packets a down-track remembers to map
	// NACKed sequence numbers back to cached input.
	histSize = 1024
	// videoSlots must exceed the FlexFEC group size: the FEC interceptor
	// keeps references to the last group's headers and payloads. Without
	// FlexFEC nothing below the down-track keeps a packet after WriteRTP
	// returns: the fan-out then builds every down-track's packet in its
	// layer's one slot (recvLayer.out), hot in the cache, and the
	// down-track's own single slot serves retransmissions and replays.
	videoSlots = 32
	// resendGap: a packet is not resent twice within this time.
	resendGap = 50 * time.Millisecond
)

// DownTrack forwards one published track to one subscriber. It is a
// webrtc.TrackLocal of its own: it gives the subscriber one SSRC, one
// continuous sequence number and timestamp space and one VP8 picture ID
// space whatever layer it forwards, the payload type and header extensions
// the subscriber negotiated, RTX retransmissions from the receiver's cache,
// and RED stripped to Opus when the subscriber lacks RED.
type DownTrack struct {
	r   *Receiver
	sub *subscriber

	// Two locks, taken in the order mu → wmu. mu guards the forwarding
	// state and decisions; wmu guards the output (slots, scratch buffers,
	// RTX numbering, counters) and the write itself. A writer decides
	// under mu, takes wmu, and lets mu go before it writes: the SRTP write
	// and the socket never hold up the selector, NACKs or other layers'
	// decisions. Bind and Unbind, which change what the writer uses, hold
	// both.
	mu       sync.Mutex
	wmu      sync.Mutex
	bound    bool
	closed   bool
	writer   webrtc.TrackLocalWriter
	ssrc     uint32
	rtxSSRC  uint32
	fecSSRC  uint32
	pt       uint8
	rtxPT    uint8
	opusPT   uint8
	stripRED bool
	keepRED  bool
	levelExt uint8
	ddExt    uint8 // the subscriber's ID for the AV1 dependency descriptor (passed on when the track has it)

	// Under mu.
	fwd       *forwarder
	hist      []histEntry
	lastIn    uint64 // newest input forwarded (audio), to spot RED-recoverable gaps
	haveIn    bool
	probeBack uint16  // the probe's position among the last packets sent
	gap       nackGap // a NACKed packet this node never had (downtrack_gap.go)

	// Under wmu.
	slots  []outSlot
	slot   int
	rtxSeq uint16
	wrote  bool // a packet got through the writer (downtrack_unsent.go)

	// unsent: a forwarded packet was dropped by a transport not yet
	// able to send; the next writeRTP starts over (downtrack_unsent.go).
	unsent atomic.Bool

	muted   bool
	decided int // the selector's decision; -1 paused
	// decidedT is the selector's temporal step (svc_temporal.go);
	// svcTemporal-1 (every temporal layer) for tracks without steps.
	decidedT int
	lastKF   time.Time
	emitted  int // the layer last reported to the client

	unflushedBytes, unflushedPkts uint64 // under wmu

	cur, tgt atomic.Int32 // for dynacast, read without mu
	// starved: unmuted but paused by the selector (no budget): for
	// dynacast it still wants the smallest layer.
	starved atomic.Bool
	off     atomic.Bool // the view asks for no video (QualityOff)
	// asked is the layer the subscriber's view preference asks for (-1
	// until the selector first ran): dynacast keeps it running at the
	// publisher even while the estimate holds the subscriber lower, so
	// that an upgrade never waits for an encoder to restart.
	asked  atomic.Int32
	sender *webrtc.RTPSender
	// replay: layers whose cached key frame this down-track starts from
	// (bit per layer; replay.go).
	replay atomic.Uint32
	// live: bound and has forwarded media (video: from a key frame on),
	// read without locks by Receiver.Forwarding.
	live atomic.Bool

	// From the subscriber's receiver reports, for grading (grade.go).
	rrLoss atomic.Uint32 // fraction lost, in 1/256
	rrRTT  atomic.Int64  // ms
	// q counts what the quality platform samples (quality.go); reason is
	// why the selector last changed the decision (mu).
	q      downQuality
	reason string

	// Not touched per forwarded packet of a VP8 track (scratch for RED,
	// NACKs and SVC, the selector's back-off): kept after the fields every
	// packet reads, so that those share as few cache lines as they can.
	// At a few hundred subscribers a fan-out reaches each down-track with
	// its lines evicted by the others' (docs/sfu-benchmarks.md, round 5).
	redBlocks  []redBlock // recoverRED's scratch (mu)
	wredBlocks []redBlock // buildPayload's scratch (wmu)
	nackBuf    []byte     // wmu
	nackPkt    rtp.Packet // wmu
	svc        svcState   // SVC tracks: the spatial layer (svc.go; mu)
	hold       holdState  // the selector's back-off against going up (mu)
}

type histEntry struct {
	valid  bool
	seq    uint16
	layer  int8
	ext    uint64
	ts     uint32
	picID  uint16
	tl0    uint8
	fn     uint16 // AV1: the descriptor's frame number as sent
	mark   bool   // SVC: the marker bit was set on it (svc.go)
	sentAt int64  // last resent (unix ns)
	// firstAt is when the packet arrived to be sent (unix ns): how long
	// a packet the subscriber did not acknowledge has been on its way.
	firstAt int64
}

type outSlot struct {
	hdr rtp.Header
	lvl [1]byte
	dd  [ddMaxBytes]byte
	buf [maxPacketSize + 2]byte
}

func newDownTrack(r *Receiver, sub *subscriber) *DownTrack {
	video := r.kind == webrtc.RTPCodecTypeVideo
	d := &DownTrack{r: r, sub: sub, decided: -1, emitted: -1, svc: svcState{target: -1, current: -1, temporal: newTemporalFollow()},
		decidedT: svcTemporal - 1,
		fwd:      newForwarder(video, r.codec.ClockRate, uint16(rand.Uint32()), rand.Uint32())}
	d.asked.Store(-1)
	if video {
		d.hist = make([]histEntry, histSize)
	} else {
		d.decided = 0
	}
	d.slots = make([]outSlot, 1)
	d.muted = r.muted.Load()
	d.applyTargetLocked()
	return d
}

// ID is the track's ID: with StreamID it makes the subscriber's media
// section carry msid = "<publisher id> <track id>".
func (d *DownTrack) ID() string { return d.r.group() }

// StreamID is the publishing participant's ID.
func (d *DownTrack) StreamID() string { return d.r.owner.id }

// RID is empty: a subscriber gets one stream, whatever layer it carries.
func (d *DownTrack) RID() string { return "" }

// Kind is audio or video.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.r.kind }

// Bind picks, from what the subscriber negotiated, the codec to send: the
// publisher's video codec (matchCodec; with RTX when negotiated),
// audio/red when both sides have it, else Opus.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wmu.Lock()
	defer d.wmu.Unlock()
	codecs := ctx.CodecParameters()
	find := func(mime string) (webrtc.RTPCodecParameters, bool) {
		for _, c := range codecs {
			if strings.EqualFold(c.MimeType, mime) {
				return c, true
			}
		}
		return webrtc.RTPCodecParameters{}, false
	}
	var chosen webrtc.RTPCodecParameters
	var ok bool
	if d.r.kind == webrtc.RTPCodecTypeVideo {
		if chosen, ok = matchCodec(codecs, d.r.codec); !ok {
			return chosen, webrtc.ErrUnsupportedCodec
		}
		for _, c := range codecs {
			if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && strings.Contains(c.SDPFmtpLine, "apt="+itoa(int(chosen.PayloadType))) {
				d.rtxPT = uint8(c.PayloadType)
			}
		}
	} else {
		opus, haveOpus := find(webrtc.MimeTypeOpus)
		red, haveRED := find("audio/red")
		switch {
		case d.r.isRED && haveRED && haveOpus:
			chosen, d.keepRED = red, true
		case haveOpus:
			chosen, d.stripRED = opus, d.r.isRED
		default:
			return chosen, webrtc.ErrUnsupportedCodec
		}
		d.opusPT = uint8(opus.PayloadType)
	}
	for _, h := range ctx.HeaderExtensions() {
		if h.URI == audioLevelURI && d.r.kind == webrtc.RTPCodecTypeAudio {
			d.levelExt = uint8(h.ID)
		}
		if h.URI == ddURI && d.r.dd != 0 {
			d.ddExt = uint8(h.ID)
		}
	}
	d.pt = uint8(chosen.PayloadType)
	d.ssrc = uint32(ctx.SSRC())
	if d.rtxPT != 0 {
		d.rtxSSRC = uint32(ctx.SSRCRetransmission())
	}
	d.writer = ctx.WriteStream()
	d.fecSSRC = uint32(ctx.SSRCForwardErrorCorrection())
	if n := d.slotsNeeded(); len(d.slots) != n {
		d.slots, d.slot = make([]outSlot, n), 0
	}
	d.bound = true
	d.live.Store(d.fwd.haveOut)
	d.lastKF = time.Time{}
	return chosen, nil
}

// Unbind stops writing; the sender was stopped or its connection closed.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.bound = false
	d.live.Store(false)
	d.writer = nil
	return nil
}

// slotsNeeded is how many packets must stay untouched after being written.
func (d *DownTrack) slotsNeeded() int {
	if d.fecSSRC != 0 {
		return videoSlots
	}
	return 1
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// finish stops the down-track for good and flushes its counters.
func (d *DownTrack) finish() {
	d.mu.Lock()
	d.closed = true
	d.live.Store(false)
	d.wmu.Lock()
	d.flushCountsLocked()
	d.wmu.Unlock()
	d.mu.Unlock()
}

// watchedLayers are the layers this down-track needs: what it forwards,
// what it is switching to, and the smallest layer while the selector
// pauses it for want of bandwidth, so that it can resume without waiting
// for the publisher's encoder (-1 for none).
func (d *DownTrack) watchedLayers() [3]int {
	floor := -1
	if d.starved.Load() {
		floor = 0
	}
	if d.r.svc { // one real layer
		return [3]int{min(int(d.cur.Load()), 0), min(int(d.tgt.Load()), 0), floor}
	}
	return [3]int{int(d.cur.Load()), int(d.tgt.Load()), floor}
}

// askedLayer is the layer the view preference asks for, or -1 while muted
// or before the selector ran: dynacast keeps it running unless it failed.
func (d *DownTrack) askedLayer() int {
	if d.r.muted.Load() {
		return -1
	}
	if d.r.svc {
		return min(int(d.asked.Load()), 0)
	}
	return int(d.asked.Load())
}

// setAsked records the layer the view preference asks for. A rise (the
// user made the tile bigger) gives a layer that failed another chance at
// once: the back-off guards against automatic cycling, not against a
// person asking.
func (d *DownTrack) setAsked(layer int, now time.Time) {
	d.off.Store(layer < 0)
	prev := int(d.asked.Swap(int32(layer)))
	if prev >= 0 && layer > prev {
		d.r.retryLayers(prev+1, layer, now)
	}
	if (prev < 0) != (layer < 0) {
		d.mu.Lock()
		d.starvedLocked()
		d.mu.Unlock()
	}
}

// starvedLocked: paused by the selector for want of bandwidth, not because
// the view asks for no video (QualityOff): dynacast keeps the smallest
// layer running for it. Before the selector first ran (asked -1) a new
// subscriber counts as starved too.
func (d *DownTrack) starvedLocked() {
	d.starved.Store(!d.muted && d.decided < 0 && !d.off.Load())
}

// applyTargetLocked hands the selector's decision, or a pause while muted,
// to the forwarder.
func (d *DownTrack) applyTargetLocked() {
	t := d.decided
	if d.muted {
		t = -1
	}
	d.svc.temporal.target = temporalLayer(d.decidedT)
	if d.r.svc {
		d.svc.target = t
		t = min(t, 0) // the forwarder sees the one real layer
	}
	d.fwd.setTarget(t)
	d.tgt.Store(int32(t))
	d.starvedLocked()
	d.cur.Store(int32(d.fwd.current))
}

// setDecision applies a layer decision from the selector. constrained
// says the decision is below what the view preference asks for: only such
// downgrades for bandwidth start the selector's hold against going back
// up. Following a preference down and up again is immediate, and so is
// coming back to a layer that had stopped arriving (reason
// "unavailable": a publisher whose encoder dropped the large layer for a
// moment); held, a blink of the publisher's layer kept every subscriber
// on small for the doubled hold, 8 s in a loaded three-person meeting.
func (d *DownTrack) setDecision(layer int, constrained bool, reason string, now time.Time) {
	d.setDecisionT(layer, svcTemporal-1, constrained, reason, now)
}

// setDecisionT is setDecision with a temporal step (svc_temporal.go):
// (layer, step) pairs are ordered as the selector's ladder.
func (d *DownTrack) setDecisionT(layer, step int, constrained bool, reason string, now time.Time) {
	d.mu.Lock()
	if layer == d.decided && (layer < 0 || step == d.decidedT) {
		d.mu.Unlock()
		return
	}
	d.reason = reason
	down := layer < d.decided || layer == d.decided && step < d.decidedT
	switch {
	case down && constrained && reason != reasonUnavailable:
		d.hold.lowered(now, defaultSelectorParams)
	case !down:
		d.hold.raised(now)
	}
	d.decided = layer
	if layer >= 0 {
		d.decidedT = step
	}
	d.applyTargetLocked()
	kf, ev := d.followUpLocked(now)
	d.mu.Unlock()
	d.after(kf, ev, now)
}

func (d *DownTrack) setMuted(m bool) {
	now := time.Now()
	d.mu.Lock()
	d.muted = m
	d.reason = "mute"
	d.applyTargetLocked()
	kf, ev := d.followUpLocked(now)
	d.mu.Unlock()
	d.after(kf, ev, now)
}

// followUpLocked works out what a change of state calls for: a key frame
// request towards the target layer (throttled), and a layer event when the
// forwarded layer changed.
func (d *DownTrack) followUpLocked(now time.Time) (kfLayer int, ev *LayerChanged) {
	kfLayer = -1
	if cur := int32(d.fwd.current); d.cur.Load() != cur {
		d.cur.Store(cur) // a store only on change: this runs per packet
	}
	l, ok := d.fwd.keyframeWanted()
	if d.r.svc && d.svc.target >= 0 && (d.svc.target > d.svc.current || d.svc.pending) {
		l, ok = 0, true // a switch up (AV1: to another decode target) waits for a key frame, or a switch point
	}
	if ok && d.bound && now.Sub(d.lastKF) >= keyframeInterval {
		d.lastKF = now
		if !d.fwd.haveOut && !d.r.svc && d.r.freshKeyframe(l, now) {
			d.askReplay(l) // no video sent yet: start from the cached key frame
		} else {
			kfLayer = l
		}
	}
	cur := d.fwd.current
	if d.r.svc && cur >= 0 {
		cur = d.svc.current
	}
	if !d.muted && cur != d.emitted && d.r.kind == webrtc.RTPCodecTypeVideo {
		d.emitted = cur
		name := layerName(d.r.rids, cur)
		if d.r.svc {
			name = svcLayerName(cur)
		}
		ev = &LayerChanged{ParticipantID: d.r.owner.id, TrackID: d.r.group(), Layer: name, Reason: d.reason}
	}
	return kfLayer, ev
}

func (d *DownTrack) after(kfLayer int, ev *LayerChanged, now time.Time) {
	if kfLayer >= 0 {
		d.r.requestKeyframe(kfLayer, now)
	}
	if ev != nil && d.sub != nil {
		d.sub.p.emit(*ev)
	}
}

// writeRTP forwards one incoming packet, if the forwarder says so.
func (d *DownTrack) writeRTP(in *inPacket) {
	d.mu.Lock()
	if !d.bound || d.closed {
		d.mu.Unlock()
		return
	}
	if d.unsent.Load() {
		d.restartUnsentLocked()
	}
	if d.stripRED {
		d.writeStrippedAndUnlock(in)
		return
	}
	if !d.keepLocked(in) {
		d.fwd.skip(&in.fp)
		kf, ev := d.followUpLocked(in.fp.arrival)
		d.mu.Unlock()
		d.after(kf, ev, in.fp.arrival)
		return
	}
	res, ok := d.fwd.forward(&in.fp)
	if ok {
		if res.switched {
			d.live.Store(true) // an epoch starts: rare, so the store costs nothing
		}
		res.mark = d.r.svc && d.svc.mark
		if res.switched && in.fp.layer != d.emitted && d.emitted >= 0 {
			d.r.stats.layerSwitches.Add(1)
		}
		if d.hist != nil {
			d.hist[res.seq%histSize] = histEntry{valid: true, seq: res.seq, layer: int8(in.fp.layer), ext: in.fp.extSeq, ts: res.ts, picID: res.picID, tl0: res.tl0,
				fn: res.fn, mark: res.mark, firstAt: in.fp.arrival.UnixNano()}
		}
	}
	kf, ev := d.followUpLocked(in.fp.arrival)
	if ok {
		d.wmu.Lock()
		d.mu.Unlock()
		d.sendW(in, res, in.payload, false)
		d.wmu.Unlock()
	} else {
		d.mu.Unlock()
	}
	if kf >= 0 || ev != nil {
		d.after(kf, ev, in.fp.arrival)
	}
}

// keepLocked applies the SVC filters: an SVC track's spatial and temporal
// layers (svcFilter), the temporal layers of a VP9 or AV1 stream of a
// track that is not SVC here (a relayed SVC track's spatial layer
// stream), for packets of the stream forwarded. An AV1 stream with the
// descriptor is always followed by decode target, so that the chains are
// known when a frame-rate cap comes.
func (d *DownTrack) keepLocked(in *inPacket) bool {
	switch {
	case d.r.svc:
		return d.fwd.target < 0 || d.svcFilter(in)
	case !in.svc.ok || !d.fwd.takes(&in.fp):
	case in.svc.dd == nil:
		// Always, so that the highest temporal layer seen is known
		// when a cap comes: steps down go one layer at a time.
		return d.svc.temporal.keep(&in.svc)
	case in.svc.dd != nil:
		return d.svc.av1Relayed(&in.svc, in.fp.layer)
	}
	return true
}

// writeStrippedAndUnlock is writeRTP for an audio/red track sent as plain
// Opus: the packets of a gap that the RED packet carries as redundancy
// are sent before it. Called with mu held; returns with no lock held.
func (d *DownTrack) writeStrippedAndUnlock(in *inPacket) {
	var rec [maxREDGap]recovered
	n := d.recoverRED(in, &rec)
	res, ok := d.fwd.forward(&in.fp)
	if ok && res.switched {
		d.live.Store(true)
	}
	kf, ev := d.followUpLocked(in.fp.arrival)
	if ok || n > 0 {
		d.wmu.Lock()
		d.mu.Unlock()
		for _, r := range rec[:n] {
			d.sendW(in, r.res, r.data, true)
		}
		if ok {
			d.sendW(in, res, in.payload, false)
		}
		d.wmu.Unlock()
	} else {
		d.mu.Unlock()
	}
	d.after(kf, ev, in.fp.arrival)
}

// maxREDGap is the longest gap RED redundancy is used to fill.
const maxREDGap = 4

// recovered is a packet rebuilt from RED redundancy, to be sent.
type recovered struct {
	res  fwdResult
	data []byte // a block of the incoming payload
}

// recoverRED finds, before the packet that follows a gap, the packets of
// the gap that the RED packet carries as redundancy (a subscriber without
// RED still benefits from the publisher's), forwards them and puts them in
// out; it returns how many. mu is held.
func (d *DownTrack) recoverRED(in *inPacket, out *[maxREDGap]recovered) int {
	ext := in.fp.extSeq
	gap := ext - d.lastIn - 1
	if !d.haveIn || ext <= d.lastIn || gap == 0 || gap > maxREDGap || d.fwd.current < 0 {
		if !d.haveIn || ext > d.lastIn {
			d.lastIn, d.haveIn = ext, true
		}
		return 0
	}
	d.lastIn = ext
	blocks, err := parseRED(in.payload, d.redBlocks[:0])
	d.redBlocks = blocks[:0]
	if err != nil {
		return 0
	}
	red := blocks[:len(blocks)-1]
	n := 0
	for k := int(gap); k >= 1; k-- {
		i := len(red) - k
		if i < 0 || red[i].tsOffset == 0 {
			continue
		}
		p := in.fp
		p.extSeq = ext - uint64(k)
		p.ts = in.fp.ts - uint32(red[i].tsOffset)
		if res, ok := d.fwd.forward(&p); ok {
			out[n] = recovered{res: res, data: red[i].data}
			n++
		}
	}
	return n
}

// sendW writes one packet out, with payload as the media payload: the
// incoming payload, or (recovered) a block taken from RED redundancy. wmu
// is held, mu is not.
func (d *DownTrack) sendW(in *inPacket, res fwdResult, payload []byte, recovered bool) {
	s := in.out
	if s == nil || len(d.slots) > 1 {
		s = &d.slots[d.slot]
		d.slot = (d.slot + 1) % len(d.slots)
	}
	var out []byte
	if recovered {
		out = s.buf[:copy(s.buf[:], payload)]
	} else {
		out = d.buildPayload(s.buf[:], in, res, payload)
	}
	if out == nil {
		return
	}
	// Field by field, not a composite literal: this runs per packet and
	// subscriber, and the fields left alone (CSRC, PayloadOffset) are
	// never set on a slot's header.
	h := &s.hdr
	h.Version, h.Padding, h.PaddingSize, h.Marker = 2, in.hdr.Padding, in.hdr.PaddingSize, in.hdr.Marker || res.mark
	h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC = d.pt, res.seq, res.ts, d.ssrc
	h.Extension, h.ExtensionProfile, h.Extensions = false, 0, h.Extensions[:0]
	if d.levelExt != 0 && in.level >= 0 {
		s.lvl[0] = byte(in.level)
		_ = s.hdr.SetExtension(d.levelExt, s.lvl[:])
	}
	if d.ddExt != 0 && len(in.ddRaw) > 0 {
		_ = s.hdr.SetExtension(d.ddExt, ddFrameNumber(s.dd[:], in.ddRaw, res.fn))
	}
	n, err := d.writer.WriteRTP(&s.hdr, out)
	d.noteWriteLocked(n, err)
	if err == nil && n > 0 {
		d.countLocked(12 + len(out))
	}
}

// countLocked adds a sent packet to the node's counters, in batches: one
// shared atomic per packet and subscriber would be the hottest cache line
// of the forwarding path. wmu is held.
func (d *DownTrack) countLocked(bytes int) {
	d.unflushedBytes += uint64(bytes)
	d.unflushedPkts++
	if d.unflushedPkts >= 32 {
		d.flushCountsLocked()
	}
}

func (d *DownTrack) flushCountsLocked() {
	d.r.stats.bytesForwarded.Add(d.unflushedBytes)
	d.r.stats.packetsForwarded.Add(d.unflushedPkts)
	d.unflushedBytes, d.unflushedPkts = 0, 0
}

// buildPayload copies payload into buf and rewrites it for the subscriber:
// VP8 picture IDs, RED block payload types, or the RED primary alone.
func (d *DownTrack) buildPayload(buf []byte, in *inPacket, res fwdResult, payload []byte) []byte {
	switch {
	case d.stripRED && len(payload) > 0:
		blocks, err := parseRED(payload, d.wredBlocks[:0])
		d.wredBlocks = blocks[:0]
		if err != nil {
			return nil
		}
		return buf[:copy(buf, blocks[len(blocks)-1].data)]
	case d.keepRED && len(payload) > 0:
		out := buf[:copy(buf, payload)]
		blocks, err := parseRED(out, d.wredBlocks[:0])
		d.wredBlocks = blocks[:0]
		if err != nil {
			return nil
		}
		setREDPayloadTypes(out, blocks, d.opusPT)
		return out
	}
	out := buf[:copy(buf, payload)]
	if in.fp.pic != nil {
		in.fp.pic.rewrite(out, res.picID, res.tl0)
	}
	return out
}
