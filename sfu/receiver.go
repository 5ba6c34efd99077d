package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Upstream is what a receiver asks of whatever feeds it: a browser's
// publisher connection, or a trunk from another node.
type Upstream interface {
	// RequestKeyframe asks for a key frame on a layer. Calls are already
	// throttled per layer.
	RequestKeyframe(layer int)
	// SetLayersWanted tells which layers somebody watches (dynacast); the
	// others may stop until wanted again.
	SetLayersWanted(wanted []bool)
}

// Sink takes a local track's packets out of the SFU without WebRTC, e.g. a
// trunk carrying the layer to another node.
type Sink interface {
	// WriteRTP gets one packet of the layer as the publisher sent it. It
	// runs on the receiver's goroutine: it must not block or keep raw.
	WriteRTP(layer int, raw []byte)
	// TrackEnded is called once when the track is unpublished.
	TrackEnded()
}

// TrackParams describes a track to publish.
type TrackParams struct {
	ID    string // empty: generated
	Kind  webrtc.RTPCodecType
	Codec webrtc.RTPCodecCapability
	// Layers are the simulcast RIDs, small first; nil for one layer.
	Layers []string
	// AudioLevelExt is the header extension ID carrying the RFC 6464 audio
	// level in the incoming packets; 0 if none.
	AudioLevelExt uint8
	// DDExt is the header extension ID of the AV1 dependency descriptor
	// (dd.go); 0 if none. An AV1 track of one stream with it is SVC
	// (svc.go); the descriptor is passed on to subscribers and sinks.
	DDExt    uint8
	Upstream Upstream
	Muted    bool
	// Source is what the track shows (SourceCamera, SourceScreen, ...);
	// empty means camera for video and microphone for audio.
	Source string
	// BackupFor makes the track a backup codec of the participant's track
	// with that ID (subscription.go): subscribers receive one of the two.
	BackupFor string
}

// keyframeInterval throttles key frame requests per layer: encoders take a
// while to produce one, and many subscribers must not cause a storm.
const keyframeInterval = 400 * time.Millisecond

// Receiver owns one published track: its simulcast layers, a packet cache
// per video layer, and the down-tracks and sinks it feeds.
type Receiver struct {
	id    string
	owner *Participant
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecCapability
	ck    codecKind // how video payloads are parsed
	svc   bool      // one stream of spatial layers (svc.go)
	// SVC: bytes received per spatial layer, and their measured rates
	// (under mu).
	svcBytes [svcLayers]atomic.Uint64
	svcRates [svcLayers]svcRate
	// tm: bytes and pictures per temporal layer (svc_temporal.go).
	tm temporalMeter
	// tlWanted: the temporal layers last asked of a TemporalUpstream, by
	// layer (svc_upstream.go); under mu.
	tlWanted []int
	source   string
	isRED    bool
	// backupFor: the primary track's ID when this is its backup codec.
	backupFor string
	rids      []string
	layers    []*recvLayer
	up        Upstream
	level     uint8 // audio level header extension ID
	dd        uint8 // AV1 dependency descriptor header extension ID
	stats     *counters
	room      *Room

	muted  atomic.Bool
	closed atomic.Bool
	lastPT atomic.Uint32 // payload type of the newest packet, for snapshots
	downs  atomic.Pointer[[]*DownTrack]
	// replayGen changes when a down-track asks for a replay (replay.go).
	replayGen atomic.Uint32
	sinks     atomic.Pointer[[]*sinkEntry]

	mu      sync.Mutex // guards changes to downs and sinks, and the layer tick state
	kfLast  []time.Time
	kfLater []*time.Timer // a throttled request, asked again when the interval ends (keyframe_defer.go)
	nominal []int
}

type sinkEntry struct {
	layer int
	sink  Sink
	svc   *svcSink // an SVC track's filter (svc_sink.go); nil otherwise
}

// recvLayer is one simulcast layer. The fields up to cache are used by the
// layer's single writer goroutine only.
type recvLayer struct {
	rid    string
	unwrap seqUnwrapper
	pkt    rtp.Packet
	in     inPacket
	// out is the fan-out's output slot, shared by every down-track of the
	// layer: one buffer that stays in the L1 cache, where a slot of each
	// down-track's own is swept out of it by the others' at a few dozen
	// subscribers. Only the goroutine writing the layer uses it (see
	// WriteRTP), and nothing keeps it after a down-track's write returns
	// (down-tracks with FlexFEC, whose interceptor keeps references, use
	// their own ring).
	out   outSlot
	cache *packetCache

	bytes   atomic.Uint64
	packets atomic.Uint64
	lastAt  atomic.Int64 // unix nanoseconds of the last packet
	replay  replayState  // the newest key frame, for replays (replay.go)
	dd      ddState      // AV1: the stream's dependency descriptor state
	// ddErrors counts the stream's descriptors that could not be parsed.
	ddErrors atomic.Uint64

	// Tick state, under Receiver.mu.
	rateBytes     uint64
	rateAt        time.Time
	bitrate       int
	paused        bool
	unwantedSince time.Time
	resumedAt     time.Time
	failedUntil   time.Time
}

// inPacket is a parsed incoming packet as down-tracks see it.
type inPacket struct {
	hdr     *rtp.Header
	payload []byte
	fp      fwdPacket
	vp8     vp8Descriptor
	vp9     vp9Descriptor
	svc     svcFrame // SVC: the packet's layer (svc_frame.go)
	pic     picFields
	ddRaw   []byte // AV1: the dependency descriptor's bytes, passed on
	level   int    // RFC 6464 level, -1 when absent
	// out, when set, is the slot to build the outgoing packet in
	// (recvLayer.out); nil: the down-track's own.
	out *outSlot
}

func newReceiver(owner *Participant, p TrackParams, cacheSize int, now time.Time) *Receiver {
	rids := p.Layers
	if len(rids) == 0 {
		rids = []string{""}
	}
	if !ValidSource(p.Source) {
		p.Source = SourceCamera
		if p.Kind == webrtc.RTPCodecTypeAudio {
			p.Source = SourceMicrophone
		}
	}
	r := &Receiver{
		id: p.ID, owner: owner, kind: p.Kind, codec: p.Codec, up: p.Upstream, level: p.AudioLevelExt, dd: p.DDExt,
		ck: codecKindOf(p.Codec.MimeType), source: p.Source, backupFor: p.BackupFor,
		isRED: strings.EqualFold(p.Codec.MimeType, "audio/red"),
		rids:  rids, kfLast: make([]time.Time, len(rids)), kfLater: make([]*time.Timer, len(rids)),
		stats: owner.stats, room: owner.room,
	}
	for _, rid := range rids {
		l := &recvLayer{rid: rid, resumedAt: now}
		if p.Kind == webrtc.RTPCodecTypeVideo {
			l.cache = newPacketCache(cacheSize)
		}
		r.layers = append(r.layers, l)
	}
	r.nominal = nominalBitrates(len(rids))
	r.svc = r.isSVC()
	r.muted.Store(p.Muted)
	r.downs.Store(&[]*DownTrack{})
	r.sinks.Store(&[]*sinkEntry{})
	return r
}

// nominalBitrates guess what a layer costs before it has been measured:
// the rates PROTOCOL.md asks browsers to encode at.
func nominalBitrates(n int) []int {
	switch n {
	case 1:
		return []int{1_500_000}
	case 2:
		return []int{150_000, 1_500_000}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 150_000
	}
	out[n-1] = 1_500_000
	if n > 2 {
		out[1] = 500_000
	}
	return out
}

// ID is the track's ID in its room.
func (r *Receiver) ID() string { return r.id }

// Owner is the publishing participant.
func (r *Receiver) Owner() *Participant { return r.owner }

// Kind is audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.kind }

// Codec is the codec of the published packets.
func (r *Receiver) Codec() webrtc.RTPCodecCapability { return r.codec }

// Source is what the track shows (SourceCamera, SourceScreen, ...).
func (r *Receiver) Source() string { return r.source }

// Layers are the simulcast RIDs, small first ("" for a single layer).
func (r *Receiver) Layers() []string { return append([]string(nil), r.rids...) }

// AudioLevelExt is the header extension ID that carries the audio level in
// this track's packets as written to WriteRTP (and as sinks get them).
func (r *Receiver) AudioLevelExt() uint8 { return r.level }

// DDExt is the header extension ID of the AV1 dependency descriptor in
// this track's packets as sinks get them (0: none).
func (r *Receiver) DDExt() uint8 { return r.dd }

// Info describes the track to clients.
func (r *Receiver) Info() TrackInfo {
	var layers []string
	switch {
	case r.svc:
		layers = append([]string(nil), svcRIDs...)
	case len(r.rids) > 1 || r.rids[0] != "":
		layers = r.Layers()
	}
	if layers == nil {
		layers = []string{}
	}
	return TrackInfo{ID: r.id, Kind: kindString(r.kind), Layers: layers, Muted: r.muted.Load(), Source: r.source,
		Codec: MimeSubtype(r.codec.MimeType), BackupFor: r.backupFor}
}

// errLayer is returned by WriteRTP for a layer the track does not have.
var errLayer = errors.New("sfu: no such layer")

// WriteRTP feeds one packet of a layer into the SFU: it is cached, parsed
// once, and written to every down-track and sink at once. At most one
// goroutine may write a given layer at a time; raw may be reused when
// WriteRTP returns.
func (r *Receiver) WriteRTP(layer int, raw []byte, arrival time.Time) error {
	if layer < 0 || layer >= len(r.layers) {
		return fmt.Errorf("%w: %d", errLayer, layer)
	}
	if r.closed.Load() {
		return ErrClosed
	}
	l := r.layers[layer]
	if err := l.pkt.Unmarshal(raw); err != nil {
		r.stats.badPackets.Add(1)
		return fmt.Errorf("sfu: rtp: %w", err)
	}
	ext, _ := l.unwrap.unwrap(l.pkt.SequenceNumber)
	l.bytes.Add(uint64(len(raw)))
	l.packets.Add(1)
	l.lastAt.Store(arrival.UnixNano())
	r.lastPT.Store(uint32(l.pkt.PayloadType))
	if l.cache != nil {
		l.cache.put(ext, raw)
	}
	in := &l.in
	*in = inPacket{hdr: &l.pkt.Header, payload: l.pkt.Payload, level: -1, out: &l.out,
		fp: fwdPacket{layer: layer, extSeq: ext, ts: l.pkt.Timestamp, arrival: arrival}}
	if r.readDD(in, &l.pkt, &l.dd) {
		l.ddErrors.Add(1)
		r.stats.ddErrors.Add(1)
	}
	r.parsePayload(in)
	if r.level != 0 {
		if b := l.pkt.GetExtension(r.level); len(b) > 0 {
			in.level = int(b[0] & 0x7f)
		}
	}
	if in.fp.keyframe && l.cache != nil {
		l.noteKeyframe(in)
	}
	if r.muted.Load() {
		return nil
	}
	if l.cache != nil {
		r.serveReplays(l, layer, ext, arrival)
	}
	if in.level >= 0 && r.room != nil {
		r.room.observeLevel(r.owner.id, uint8(in.level))
	}
	for _, d := range *r.downs.Load() {
		d.writeRTP(in)
	}
	for _, s := range *r.sinks.Load() {
		switch {
		case s.svc != nil:
			b, waiting := s.svc.filter(s.layer, in, raw)
			if b != nil {
				s.sink.WriteRTP(s.layer, b)
			}
			if waiting && s.svc.askDue(arrival) {
				r.requestKeyframe(0, arrival) // svc_sink.go
			}
		case s.layer == layer:
			s.sink.WriteRTP(layer, raw)
		}
	}
	return nil
}

// readDD reads an AV1 packet's dependency descriptor, if the track has
// one, against the stream's descriptor state st: the raw extension (sent
// on to subscribers), the frame's layers and its frame number. It reports
// a descriptor that could not be parsed.
func (r *Receiver) readDD(in *inPacket, pkt *rtp.Packet, st *ddState) (bad bool) {
	if r.dd == 0 || r.ck != codecAV1 {
		return false
	}
	in.ddRaw = pkt.GetExtension(r.dd)
	in.svc, bad = st.parseAV1(in.ddRaw, in.payload)
	if len(in.ddRaw) >= 3 {
		in.fp.fn, in.fp.hasFN = binary.BigEndian.Uint16(in.ddRaw[1:3]), true
	}
	return bad
}

// parsePayload reads what the forwarder needs from a video payload: the
// key frame flag, and VP8's picture IDs.
func (r *Receiver) parsePayload(in *inPacket) {
	switch r.ck {
	case codecVP8:
		if d, err := parseVP8(in.payload); err == nil {
			in.vp8 = d
			in.pic = d.fields()
			in.fp.pic = &in.pic
			in.fp.keyframe = d.keyframe
		}
	case codecH264:
		in.fp.keyframe = h264Keyframe(in.payload)
	case codecVP9:
		if d, err := parseVP9(in.payload); err == nil {
			in.vp9 = d
			in.pic = d.fields()
			in.fp.pic = &in.pic
			in.fp.keyframe = d.keyframe
			in.svc = vp9SVC(&d)
			row := in.fp.layer
			if r.svc {
				r.countSVC(d.sid, len(in.payload))
				row = int(d.sid)
			}
			r.tm.addVP9(row, &in.svc, len(in.payload))
		}
	case codecAV1:
		in.fp.keyframe = av1Keyframe(in.payload) || in.svc.keyframe
		switch {
		case r.svc && in.svc.ok:
			r.countAV1(&in.svc, len(in.payload))
			r.tm.addAV1(&in.svc, len(in.payload))
		case in.svc.ok && in.svc.dd != nil: // a relayed SVC layer stream
			r.tm.addAV1Row(in.fp.layer, in.fp.layer, &in.svc, len(in.payload))
		}
	}
}

// RequestKeyframe asks upstream for a key frame on layer, at most once per
// keyframeInterval.
func (r *Receiver) RequestKeyframe(layer int) { r.requestKeyframe(layer, time.Now()) }

func (r *Receiver) requestKeyframe(layer int, now time.Time) {
	if r.svc && layer > 0 && layer < svcLayers {
		layer = 0 // every spatial layer starts at the stream's key frame
	}
	if r.kind != webrtc.RTPCodecTypeVideo || layer < 0 || layer >= len(r.layers) || r.up == nil {
		return
	}
	r.mu.Lock()
	if wait := keyframeInterval - now.Sub(r.kfLast[layer]); wait > 0 {
		r.deferKeyframeLocked(layer, wait, now)
		r.mu.Unlock()
		return
	}
	r.kfLast[layer] = now
	r.mu.Unlock()
	r.stats.keyframeReqs.Add(1)
	r.up.RequestKeyframe(layer)
}

// AddSink starts copying one layer to s until the returned function is
// called. The layer counts as watched for dynacast. Layer i of an SVC
// track is its spatial layers up to i, as one stream (svc_sink.go).
func (r *Receiver) AddSink(layer int, s Sink) (remove func(), err error) {
	n := len(r.layers)
	if r.svc {
		n = svcLayers
	}
	if layer < 0 || layer >= n {
		return nil, fmt.Errorf("%w: %d", errLayer, layer)
	}
	e := &sinkEntry{layer: layer, sink: s}
	if r.svc {
		e.svc = &svcSink{}
	}
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	next := append(append([]*sinkEntry(nil), *r.sinks.Load()...), e)
	r.sinks.Store(&next)
	r.mu.Unlock()
	if r.room != nil {
		r.room.kick()
	}
	r.RequestKeyframe(layer)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		cur := *r.sinks.Load()
		next := make([]*sinkEntry, 0, len(cur))
		for _, x := range cur {
			if x != e {
				next = append(next, x)
			}
		}
		r.sinks.Store(&next)
	}, nil
}

func (r *Receiver) addDown(d *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := append(append([]*DownTrack(nil), *r.downs.Load()...), d)
	r.downs.Store(&next)
}

func (r *Receiver) removeDown(d *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := *r.downs.Load()
	next := make([]*DownTrack, 0, len(cur))
	for _, x := range cur {
		if x != d {
			next = append(next, x)
		}
	}
	r.downs.Store(&next)
}

// setMuted mutes or unmutes the track for all subscribers. Unmuting sends
// the next audio packet at once; video resumes at the next key frame,
// which is requested.
func (r *Receiver) setMuted(m bool) bool {
	if r.muted.Swap(m) == m {
		return false
	}
	for _, d := range *r.downs.Load() {
		d.setMuted(m)
	}
	return true
}

// close ends the track: sinks are told, and no more packets are accepted.
func (r *Receiver) close() {
	if r.closed.Swap(true) {
		return
	}
	r.mu.Lock()
	sinks := *r.sinks.Load()
	r.sinks.Store(&[]*sinkEntry{})
	r.stopDeferredLocked()
	r.mu.Unlock()
	for _, s := range sinks {
		s.sink.TrackEnded()
	}
}
