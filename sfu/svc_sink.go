package sfu

import "encoding/binary"

// Taking an SVC track out of the SFU (to a trunk): a sink of layer i gets
// a stream that a decoder can take on its own, the spatial layers up to i
// in sequence numbers without gaps and with the marker bit on the last
// packet of layer i of each picture. So the far node sees an SVC track as
// simulcast (Info names its spatial layers as the rids svcRIDs), each of
// its layers is carried only while somebody there wants it (dynacast), and
// what its layers cost is measured there as for any simulcast track. The
// lower spatial layers are carried once per wanted layer, as simulcast
// carries its lower resolutions.

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
	buf     [maxPacketSize]byte
}

// filter returns the packet as the sink of spatial layers up to cap gets
// it, or nil when the packet is not for it. raw is not modified; the
// result is valid until the next call.
func (f *svcSink) filter(cap int, in *inPacket, raw []byte) []byte {
	ext := in.fp.extSeq
	newer := !f.started || ext > f.last
	if newer {
		f.started, f.last = true, ext
	}
	keep, mark := false, false
	switch {
	case !in.svc.ok:
	case in.svc.dd != nil:
		keep, _, _ = f.av1.step(&in.svc, cap, allTemporal)
		mark = keep && f.av1.ends(&in.svc)
	default:
		keep, mark = in.svc.in(cap), in.svc.ends(cap)
	}
	if !keep {
		if newer {
			f.dropped++
		}
		return nil
	}
	if len(raw) < 12 || len(raw) > len(f.buf) {
		return nil
	}
	out := f.buf[:copy(f.buf[:], raw)]
	binary.BigEndian.PutUint16(out[2:4], in.hdr.SequenceNumber-f.dropped)
	if mark {
		out[1] |= 0x80 // marker: the picture ends here for this stream
	}
	return out
}
