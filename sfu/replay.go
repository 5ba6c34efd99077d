package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// A subscriber's video starts at a key frame. When one went through the
// receiver moments ago (another subscriber asked for it, or the trunk did
// when the track was first wanted here), the down-track starts from the
// copy in the packet cache instead of asking the publisher for a new one:
// the key frame and the frames after it are sent at once, then the live
// packets follow. Across trunks a new key frame costs a round trip to the
// origin node; a cached one costs nothing.
//
// Only a fresh key frame is replayed (replayMaxAge): the frames after it
// arrive in a burst and the subscriber plays them out at their pace, so the
// picture starts that much behind and catches up. Only a down-track that
// never sent video replays: after a pause or on a layer switch the
// picture on screen must not jump back in time.

const (
	// replayMaxAge: an older key frame is not replayed; a new one is asked for.
	replayMaxAge = 400 * time.Millisecond
	// replayMaxPackets bounds one replay (and the key frame's distance
	// from the newest packet).
	replayMaxPackets = 300
)

// replayState is a layer's record of its newest key frame and its replay
// scratch. kfExt, kfTS and kfAt are written by the layer's writer only;
// kfAt is read by down-tracks to decide whether to replay.
type replayState struct {
	kfExt   uint64
	kfTS    uint32
	kfAt    atomic.Int64 // unix nanoseconds; 0: none seen
	seenGen uint32       // the receiver's replayGen last looked at
	pkt     rtp.Packet
	in      inPacket
	dd      ddState // AV1: the replayed packets' descriptor state, from the key frame's structure
	buf     []byte
}

// noteKeyframe records the first packet of a key frame (the writer).
func (l *recvLayer) noteKeyframe(in *inPacket) {
	rs := &l.replay
	if rs.kfAt.Load() != 0 && in.fp.ts == rs.kfTS {
		return // a later packet of the same key frame (H.264 marks several)
	}
	rs.kfExt, rs.kfTS = in.fp.extSeq, in.fp.ts
	rs.kfAt.Store(in.fp.arrival.UnixNano())
}

// freshKeyframe reports whether layer saw a key frame recently enough to
// be replayed.
func (r *Receiver) freshKeyframe(layer int, now time.Time) bool {
	if layer < 0 || layer >= len(r.layers) || r.svc || r.layers[layer].cache == nil {
		return false
	}
	at := r.layers[layer].replay.kfAt.Load()
	return at != 0 && now.UnixNano()-at < int64(replayMaxAge)
}

// askReplay marks d to be started from layer's cached key frame by the
// layer's writer at its next packet. Called under d.mu.
func (d *DownTrack) askReplay(layer int) {
	for {
		old := d.replay.Load()
		if d.replay.CompareAndSwap(old, old|1<<layer) {
			break
		}
	}
	d.r.replayGen.Add(1)
}

// serveReplays runs on layer's writer before a packet of extended
// sequence number ext is forwarded: down-tracks that asked for a replay of
// this layer get its cached packets from the newest key frame up to ext.
func (r *Receiver) serveReplays(l *recvLayer, layer int, ext uint64, arrival time.Time) {
	g := r.replayGen.Load()
	if g == l.replay.seenGen {
		return
	}
	l.replay.seenGen = g
	bit := uint32(1) << layer
	for _, d := range *r.downs.Load() {
		if d.replay.Load()&bit == 0 {
			continue
		}
		for {
			old := d.replay.Load()
			if d.replay.CompareAndSwap(old, old&^bit) {
				break
			}
		}
		if !r.replayTo(l, layer, ext, arrival, d) {
			r.requestKeyframe(layer, arrival) // too old by now: ask after all
		}
	}
}

// replayTo sends d the cached packets of layer from its newest key frame
// up to (not including) ext, and reports whether there was one to send.
func (r *Receiver) replayTo(l *recvLayer, layer int, ext uint64, arrival time.Time, d *DownTrack) bool {
	rs := &l.replay
	at := rs.kfAt.Load()
	if at == 0 || arrival.UnixNano()-at >= int64(replayMaxAge) || rs.kfExt >= ext || ext-rs.kfExt > replayMaxPackets {
		return false
	}
	r.stats.keyframeReplays.Add(1)
	rs.dd = ddState{}
	for e := rs.kfExt; e < ext; e++ {
		raw, ok := l.cache.get(e, rs.buf[:0])
		if !ok {
			continue // the subscriber's NACK finds nothing either; the next key frame mends it
		}
		rs.buf = raw[:0]
		if rs.pkt.Unmarshal(raw) != nil {
			continue
		}
		in := &rs.in
		*in = inPacket{hdr: &rs.pkt.Header, payload: rs.pkt.Payload, level: -1,
			fp: fwdPacket{layer: layer, extSeq: e, ts: rs.pkt.Timestamp, arrival: arrival}}
		// The descriptor goes with the replayed packets, as with live ones:
		// without it the key frame's template structure never reaches the
		// subscriber, whose decoder then drops every later frame.
		r.readDD(in, &rs.pkt, &rs.dd) // already counted when it arrived
		r.parsePayload(in)
		d.writeRTP(in)
	}
	return true
}
