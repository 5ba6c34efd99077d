package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// What the quality platform samples of a subscriber's down-tracks. It is
// counted on the RTCP path and read by a sampler every few seconds; the
// forwarding path is not touched.

// downQuality counts one down-track's feedback from its subscriber.
type downQuality struct {
	plis, nacks atomic.Uint64
	// resent counts NACKed packets resent from the cache: the node had
	// them, so their loss was on the way to the subscriber.
	resent atomic.Uint64
	// gapKeyframes counts key frames asked for packets lost for good
	// before this node (downtrack_gap.go).
	gapKeyframes atomic.Uint64
	// lost is the worst fraction lost of the subscriber's receiver reports
	// since the last sample, in 1/256 (RFC 3550), plus one; 0 before any.
	lost atomic.Uint32
	// ackLag is the most the subscriber's receiver reports since the last
	// sample lagged behind what the node had sent, in ms: how long the
	// oldest packet it sent and the subscriber had not acknowledged had
	// been on its way. Video only (its sent packets are remembered).
	ackLag atomic.Uint32
}

// maxAckLag caps a lag (ms): beyond it, the track is gone anyway.
const maxAckLag = 60_000

// ackScan bounds how many sequence numbers past the acknowledged one are
// looked at for the first packet sent: the rest are holes left by loss
// upstream of the node.
const ackScan = 64

// onReceiverReport keeps the loss the subscriber reports for this track,
// and how far its newest received packet lags behind what was sent: the
// age of the oldest packet sent after it. During a pause the node sends
// nothing, and the subscriber has all it sent: no lag. Loss upstream of
// the node leaves holes the subscriber skips past: no lag either, nor
// does a burst the node forwards just before the report arrives. Only
// packets the node sent that do not reach the subscriber make it lag, so
// the lag is the downlink's own.
func (d *DownTrack) onReceiverReport(rr *rtcp.ReceiverReport, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range rr.Reports {
		if b.SSRC != d.ssrc {
			continue
		}
		storeMax(&d.q.lost, uint32(b.FractionLost)+1)
		if sent := d.oldestUnacked(uint16(b.LastSequenceNumber)); sent != 0 {
			lag := min(max(now.UnixNano()-sent, 0)/1e6, maxAckLag)
			storeMax(&d.q.ackLag, uint32(lag))
		}
	}
}

// oldestUnacked is when the node sent the oldest packet newer than acked
// that it remembers (unix ns), 0 when there is none. Called with mu held.
func (d *DownTrack) oldestUnacked(acked uint16) int64 {
	if d.hist == nil || !d.fwd.haveOut {
		return 0
	}
	out := uint16(d.fwd.lastOutExt)
	behind := int(int16(out - acked))
	if behind <= 0 {
		return 0
	}
	seq := acked + 1
	if behind > histSize {
		seq = out - histSize + 1 // the oldest still remembered
	}
	for i := 0; i < ackScan && int16(out-seq) >= 0; i, seq = i+1, seq+1 {
		if e := &d.hist[seq%histSize]; e.valid && e.seq == seq && e.firstAt != 0 {
			return e.firstAt
		}
	}
	return 0
}

// storeMax raises a to v when v is higher.
func storeMax(a *atomic.Uint32, v uint32) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// DownStat is one down-track as the quality platform samples it.
type DownStat struct {
	Publisher, Track, Kind string
	// Layer forwarded now ("small", "medium", "large", "paused").
	Layer string
	// PLIs and NACKs (sequence numbers) received from the subscriber so
	// far, and how many NACKed packets were resent from the cache.
	PLIs, NACKs, Resent uint64
	// Loss is the worst fraction lost of its receiver reports since the
	// previous QualityStats (-1 without one); AckLagMs the most they
	// lagged behind what the node had sent; RTTMs the last round trip
	// measured from them (0 before any).
	Loss     float64
	AckLagMs int
	RTTMs    int
}

// QualityStats samples a participant's subscriptions and its subscriber
// connection's bandwidth estimate (bits/s; 0 without a subscriber). The
// worst-of figures start over at each call: one sampler calls it.
func (p *Participant) QualityStats() (downs []DownStat, estimate int) {
	if p.sub == nil {
		return nil, 0
	}
	p.sub.mu.Lock()
	list := make([]*DownTrack, 0, len(p.sub.downs))
	for _, d := range p.sub.downs {
		list = append(list, d)
	}
	p.sub.mu.Unlock()
	for _, d := range list {
		st := DownStat{Publisher: d.r.owner.id, Track: d.r.id, Kind: kindString(d.r.kind),
			PLIs: d.q.plis.Load(), NACKs: d.q.nacks.Load(), Resent: d.q.resent.Load(), Loss: -1,
			AckLagMs: int(d.q.ackLag.Swap(0)), RTTMs: int(d.rrRTT.Load())}
		if l := d.q.lost.Swap(0); l > 0 {
			st.Loss = float64(l-1) / 256
		}
		if d.r.kind == webrtc.RTPCodecTypeVideo {
			st.Layer = layerName(d.r.rids, int(d.cur.Load()))
		}
		downs = append(downs, st)
	}
	return downs, p.sub.est.GetTargetBitrate()
}

// switchReason says why the selector gave track t layer l, its decision
// changing. A move up to a layer dynacast had paused at the publisher
// (nobody watched it) is dynacast's: the switch waits until the publisher
// sends the layer again.
func switchReason(l int, t allocTrack, paused bool) string {
	if paused && l > t.current {
		return "dynacast"
	}
	return decisionReason(l, t)
}

// decisionReason says why the selector gave track t layer l.
func decisionReason(l int, t allocTrack) string {
	if l >= t.maxLayer {
		if t.current > l {
			return "preference"
		}
		if t.hold.lastDown.IsZero() {
			return "preference"
		}
		return "bandwidth"
	}
	for x := max(l+1, 0); x <= t.maxLayer && x < len(t.bitrates); x++ {
		if t.bitrates[x] > 0 {
			return "bandwidth"
		}
	}
	return reasonUnavailable
}

// reasonUnavailable is a switch down because the layer is not arriving.
const reasonUnavailable = "unavailable"

// missing looks at the newest packets the cache holds (up to its size)
// and returns how many of the sequence numbers in that span are absent
// (never arrived, or arrived too late to be cached in order), and the
// span. It reads under the cache's read lock: the forwarding path is not
// touched.
func (c *packetCache) missing() (absent, span int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var high, low uint64
	seen := false
	for i := range c.slots {
		if s := &c.slots[i]; s.n > 0 {
			if !seen || s.ext > high {
				high = s.ext
			}
			if !seen || s.ext < low {
				low = s.ext
			}
			seen = true
		}
	}
	if !seen {
		return 0, 0
	}
	// The span is the newest size sequence numbers, but not before the
	// first packet the cache holds: a layer that began recently (or a slow
	// one) has not filled it.
	size := uint64(len(c.slots))
	lo := low
	if high+1 > size {
		lo = max(lo, high+1-size)
	}
	present := 0
	for i := range c.slots {
		if s := &c.slots[i]; s.n > 0 && s.ext >= lo && s.ext <= high {
			present++
		}
	}
	span = int(high - lo + 1)
	return span - present, span
}

// RecentLoss is the share of the publisher's newest video packets (the
// span its packet caches hold, a few seconds) that never reached this
// node, after any retransmission: the loss of the publisher's uplink as
// this node sees it, worst layer. 0 for audio or before any packet.
func (r *Receiver) RecentLoss() float64 {
	worst := 0.0
	for _, l := range r.layers {
		if l.cache == nil {
			continue
		}
		if absent, span := l.cache.missing(); span >= 32 {
			worst = max(worst, float64(absent)/float64(span))
		}
	}
	return worst
}

// LastArrival is when the newest packet of any of the track's layers
// arrived (zero before any). A sampler reads it to find gaps in what the
// publisher sends; it is an atomic load per layer.
func (r *Receiver) LastArrival() time.Time {
	var last int64
	for _, l := range r.layers {
		last = max(last, l.lastAt.Load())
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(0, last)
}

// layerPaused says whether dynacast has paused layer i at the publisher.
func (r *Receiver) layerPaused(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return i >= 0 && i < len(r.layers) && r.layers[i].paused
}

// Muted says whether the publisher muted the track.
func (r *Receiver) Muted() bool { return r.muted.Load() }
