package sfu

import (
	"encoding/binary"
	"time"
)

// Taking an SVC track out of the SFU (to a trunk): a sink of layer i gets
// a stream that a decoder can take on its own, the spatial layers up to i
// in sequence numbers without gaps and with the marker bit on the last
// packet of layer i of each picture. So the far node sees an SVC track as
// simulcast (Info names its spatial layers as the rids svcRIDs), each of
// its layers is carried only while somebody there wants it (dynacast), and
// what its layers cost is measured there as for any simulcast track. The
// lower spatial layers are carried once per wanted layer, as simulcast
// carries its lower resolutions.
//
// An AV1 sink starts at a key frame (or a switch point whose chain it has)
// of its decode target, so until then it sends nothing, and nothing else
// asks for that key frame: the far node's subscribers, who would, receive
// no packet of the layer to react to. So a sink that waits for one asks
// for it itself, again every keyframeInterval while it waits: one request
// when the sink was added is not enough, since the receiver's throttle
// drops it when another subscriber asked moments before and the key frame
// that answered came before the sink (TestBrowserAV1SVCAcrossTrunk's far
// viewer then got no video at all, in about 1 run of 3).

// svcRIDs name an SVC track's spatial layers where clients and trunks see
// layers (Receiver.Info).
var svcRIDs = []string{"s", "m", "l"}

// svcSink is the filter in front of one sink of an SVC track. Its fields
// are used by the receiver's writer goroutine only.
type svcSink struct {
	started bool
	last    uint64 // newest input sequence number seen (extended)
	dropped uint16 // input packets taken out of the sequence numbers
	av1     av1Follow
	askedAt time.Time // the sink's latest key frame request (AV1)
	buf     [maxPacketSize]byte
}

// filter returns the packet as the sink of spatial layers up to cap gets
// it, or nil when the packet is not for it, and whether the sink waits for
// a key frame (AV1: it has no decode target yet, or wants another one).
// raw is not modified; the result is valid until the next call.
func (f *svcSink) filter(cap int, in *inPacket, raw []byte) (out []byte, waiting bool) {
	ext := in.fp.extSeq
	newer := !f.started || ext > f.last
	if newer {
		f.started, f.last = true, ext
	}
	keep, mark := false, false
	switch {
	case !in.svc.ok:
	case in.svc.dd != nil:
		var pending bool
		keep, _, pending = f.av1.step(&in.svc, cap, allTemporal)
		mark = keep && f.av1.ends(&in.svc)
		waiting = pending || f.av1.dt < 0
	default:
		keep, mark = in.svc.in(cap), in.svc.ends(cap)
	}
	if !keep {
		if newer {
			f.dropped++
		}
		return nil, waiting
	}
	if len(raw) < 12 || len(raw) > len(f.buf) {
		return nil, waiting
	}
	out = f.buf[:copy(f.buf[:], raw)]
	binary.BigEndian.PutUint16(out[2:4], in.hdr.SequenceNumber-f.dropped)
	if mark {
		out[1] |= 0x80 // marker: the picture ends here for this stream
	}
	return out, waiting
}

// askDue reports whether a waiting sink asks for a key frame at now: at
// most once per keyframeInterval of its own, so that a waiting sink does
// not take the receiver's lock for every packet.
func (f *svcSink) askDue(now time.Time) bool {
	if !f.askedAt.IsZero() && now.Sub(f.askedAt) < keyframeInterval {
		return false
	}
	f.askedAt = now
	return true
}
