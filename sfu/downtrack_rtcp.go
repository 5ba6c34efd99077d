package sfu

import (
	"github.com/pion/rtp"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// readRTCP reads the subscriber's RTCP for this down-track until the sender
// stops. Transport-cc feedback does not come this way: the connection's
// rtcpTap hands it to the estimator whatever SSRC it names (rtcptap.go).
func (d *DownTrack) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		// Transport-cc feedback, most of what a subscriber sends, went to
		// the estimator (rtcptap.go): only the rest is parsed here.
		now := time.Now()
		d.sub.p.heard(now)
		d.checkGap(now)
		eachRTCP(buf[:n], func(h rtcp.Header, pkt []byte) {
			if isTWCC(h) {
				return
			}
			pkts, err := rtcp.Unmarshal(pkt)
			if err != nil {
				return
			}
			for _, p := range pkts {
				d.handleRTCP(p, now)
			}
		})
	}
}

// handleRTCP acts on one RTCP packet from the subscriber.
func (d *DownTrack) handleRTCP(p rtcp.Packet, now time.Time) {
	switch p := p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		d.q.plis.Add(1)
		d.onKeyframeRequest(now)
	case *rtcp.TransportLayerNack:
		d.onNACK(p, now)
	case *rtcp.ReceiverReport:
		d.onReceiverReport(p, now)
		d.gradeReceiverReport(p, now)
	}
}

// onKeyframeRequest passes a subscriber's PLI or FIR on for the layer it
// receives (throttled by the receiver).
func (d *DownTrack) onKeyframeRequest(now time.Time) {
	d.mu.Lock()
	layer := d.fwd.current
	d.mu.Unlock()
	if layer >= 0 {
		d.r.requestKeyframe(layer, now)
	}
}

// onNACK resends the NACKed packets from the receiver's cache, over RTX
// when the subscriber negotiated it.
func (d *DownTrack) onNACK(n *rtcp.TransportLayerNack, now time.Time) {
	if d.r.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	for _, pair := range n.Nacks {
		pair.Range(func(seq uint16) bool {
			d.r.stats.nacksReceived.Add(1)
			d.q.nacks.Add(1)
			d.mu.Lock()
			d.noteNACKLocked(seq, now)
			if d.resendAndUnlock(seq, now) > 0 {
				d.r.stats.retransmits.Add(1)
				d.q.resent.Add(1)
			}
			return true
		})
	}
}

// resendAndUnlock sends the packet sent as seq again, over RTX when
// negotiated, and returns the bytes written (0: nothing sent). It is
// called with mu held and returns with no lock held: like writeRTP, it
// takes wmu and lets mu go before the write.
func (d *DownTrack) resendAndUnlock(seq uint16, now time.Time) int {
	if !d.bound || d.closed {
		d.mu.Unlock()
		return 0
	}
	var (
		layer int
		ext   uint64
		res   fwdResult
		known bool
	)
	e := &d.hist[seq%histSize]
	if e.valid && e.seq == seq {
		if now.UnixNano()-e.sentAt < int64(resendGap) {
			d.mu.Unlock()
			return 0
		}
		e.sentAt = now.UnixNano()
		layer, ext, known = int(e.layer), e.ext, true
		res = fwdResult{seq: seq, ts: e.ts, picID: e.picID, tl0: e.tl0, fn: e.fn, mark: e.mark}
	} else if l, x, ok := d.fwd.inputFor(seq); ok {
		layer, ext = l, x
	} else {
		d.mu.Unlock()
		return 0
	}
	// The packet goes into wmu's scratch; mu stays held for the remap.
	d.wmu.Lock()
	defer d.wmu.Unlock()
	raw, ok := d.r.layers[layer].cache.get(ext, d.nackBuf[:0])
	if !ok {
		d.mu.Unlock()
		return 0
	}
	d.nackBuf = raw
	if d.nackPkt.Unmarshal(raw) != nil {
		d.mu.Unlock()
		return 0
	}
	in := inPacket{hdr: &d.nackPkt.Header, payload: d.nackPkt.Payload, level: -1,
		fp: fwdPacket{layer: layer, extSeq: ext, ts: d.nackPkt.Timestamp}}
	if d.ddExt != 0 {
		if in.ddRaw = d.nackPkt.GetExtension(d.r.dd); len(in.ddRaw) >= 3 {
			in.fp.fn, in.fp.hasFN = uint16(in.ddRaw[1])<<8|uint16(in.ddRaw[2]), true
		}
	}
	switch d.r.ck {
	case codecVP8:
		if v, err := parseVP8(in.payload); err == nil {
			in.pic = v.fields()
			in.fp.pic = &in.pic
		}
	case codecVP9:
		if v, err := parseVP9(in.payload); err == nil {
			in.pic = v.fields()
			in.fp.pic = &in.pic
		}
	}
	if !known {
		if res, ok = d.fwd.remap(&in.fp); !ok || res.seq != seq {
			d.mu.Unlock()
			return 0
		}
	}
	d.mu.Unlock()
	s := &d.slots[d.slot]
	d.slot = (d.slot + 1) % len(d.slots)
	off := 0
	if d.rtxSSRC != 0 {
		off = 2
		s.buf[0], s.buf[1] = byte(seq>>8), byte(seq)
	}
	out := d.buildPayload(s.buf[off:], &in, res, in.payload)
	if out == nil {
		return 0
	}
	out = s.buf[:off+len(out)]
	s.hdr = rtp.Header{Version: 2, Marker: in.hdr.Marker || res.mark, PayloadType: d.pt, SequenceNumber: seq,
		Timestamp: res.ts, SSRC: d.ssrc, Extensions: s.hdr.Extensions[:0]}
	if len(in.ddRaw) > 0 {
		_ = s.hdr.SetExtension(d.ddExt, ddFrameNumber(s.dd[:], in.ddRaw, res.fn))
	}
	if d.rtxSSRC != 0 {
		s.hdr.PayloadType, s.hdr.SSRC, s.hdr.SequenceNumber = d.rtxPT, d.rtxSSRC, d.rtxSeq
		d.rtxSeq++
	} else {
		s.hdr.Padding, s.hdr.PaddingSize = in.hdr.Padding, in.hdr.PaddingSize
	}
	if _, err := d.writer.WriteRTP(&s.hdr, out); err != nil {
		return 0
	}
	d.countLocked(12 + len(out))
	return 12 + len(out)
}

// probeAndUnlock sends one probe packet: an RTX copy of one of the last
// probeSpan packets sent, in turn. It returns the bytes written; 0 when the
// down-track cannot probe now (not bound, no RTX negotiated, nothing to
// copy). Like resendAndUnlock, it is called with mu held and returns with
// no lock held.
func (d *DownTrack) probeAndUnlock(now time.Time) int {
	if !d.bound || d.closed || d.rtxSSRC == 0 || d.hist == nil || !d.fwd.haveOut || d.fwd.current < 0 {
		d.mu.Unlock()
		return 0
	}
	last := uint16(d.fwd.lastOutExt)
	for range probeSpan {
		d.probeBack = (d.probeBack + 1) % probeSpan
		seq := last - d.probeBack
		if e := &d.hist[seq%histSize]; e.valid && e.seq == seq && now.UnixNano()-e.sentAt >= int64(resendGap) {
			n := d.resendAndUnlock(seq, now)
			if n > 0 {
				d.r.stats.probePackets.Add(1)
			}
			return n
		}
	}
	d.mu.Unlock()
	return 0
}
