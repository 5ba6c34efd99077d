package qrtp

import (
	"fmt"
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
	"github.com/qrtn/qrtn/qrtp/fec"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// packetThreshold: a packet is lost once a packet sent this many later is
// acknowledged (RFC 9002 §6.1.1).
const packetThreshold = 3

// recoveryHandler applies the fate of a packet's frames to their sources.
type recoveryHandler interface {
	onPacketAcked(p *sentPacket, wasLost bool)
	onPacketLost(p *sentPacket)
	onPacketRecovered(p *sentPacket, wasOutstanding bool)
}

// recovery is the sender's loss recovery (RFC 9002 shape): the record of
// sent packets, ACK processing, packet- and time-threshold loss detection,
// the probe timeout, RTT estimation and the congestion controller.
//
// Costs stay proportional to new information: an ACK's ranges are
// intersected with the set of packets already known to be acknowledged, so
// only newly acknowledged packets are visited; loss detection resumes from
// the lowest packet that may still be outstanding.
type recovery struct {
	ring         sentRing
	acked        rangeSet // acknowledged packet numbers >= ring.base
	largestAcked uint64
	anyAcked     bool
	scanPN       uint64 // packets below are acknowledged or lost

	bytesInFlight        int
	ackElicitingInFlight int
	lastAckElicitingSent time.Time
	lossTime             time.Time
	ptoCount             int
	probes               int // probe packets owed after a PTO
	firstSampleTime      time.Time

	rtt rttEstimator
	cc  cc.Controller
	// est fits the path's loss process (rate and burstiness) for the FEC
	// policy from the fate of every in-flight packet; packets the peer
	// rebuilt from FEC count as lost, since the path lost them.
	est *fec.Estimator
	// fateCursor is the next packet whose fate goes to est: fates are fed
	// in packet-number order, once known, because an ACK reports later
	// packets before loss detection reports earlier ones, and that order
	// would make independent losses look like bursts.
	fateCursor uint64

	delivered     uint64 // bytes acknowledged so far
	deliveredTime time.Time
	deliveryRate  float64

	ev     cc.CongestionEvent
	ackedQ []cc.Packet
	lostQ  []cc.Packet

	stats struct {
		sent, acked, lost, spurious uint64
		bytesSent, bytesAcked       uint64
		ptos                        uint64
		persistent                  uint64
	}
}

func newRecovery(ctrl cc.Controller) *recovery {
	return &recovery{cc: ctrl, est: fec.NewEstimator(fecEstimatorWindow)}
}

// nextPN is the number the next packet gets.
func (r *recovery) nextPN() uint64 { return r.ring.next() }

// onSent records a packet that is about to leave. The caller fills
// p.frames before or after; size is the whole datagram.
func (r *recovery) onSent(now time.Time, p *sentPacket, size int, ackEliciting, inFlight bool) {
	p.sent, p.size = now, size
	p.ackEliciting, p.inFlight = ackEliciting, inFlight
	p.delivered, p.deliveredTime = r.delivered, r.deliveredTime
	if p.deliveredTime.IsZero() {
		p.deliveredTime = now
	}
	r.stats.sent++
	r.stats.bytesSent += uint64(size)
	if ackEliciting {
		r.lastAckElicitingSent = now
		r.ackElicitingInFlight++
	}
	if inFlight {
		r.bytesInFlight += size
		r.cc.OnPacketSent(now, cc.SentPacket{Number: p.pn, Bytes: size, SentTime: now, BytesInFlight: r.bytesInFlight})
	}
}

// onAck processes an ACK frame. It returns an error if the frame
// acknowledges a packet never sent (a protocol violation).
func (r *recovery) onAck(now time.Time, f *wire.AckFrame, h recoveryHandler) error {
	largest := f.Largest()
	if largest >= r.ring.next() {
		return protoErr(CodeProtocolViolation, "ACK of unsent packet %d (next %d)", largest, r.ring.next())
	}
	r.ackedQ, r.lostQ = r.ackedQ[:0], r.lostQ[:0]
	prior := r.bytesInFlight
	var newest *sentPacket
	cursor := 0
	for i := len(f.Ranges) - 1; i >= 0; i-- { // oldest first: Acked comes out sorted
		lo, hi := max(f.Ranges[i].Smallest, r.ring.base), f.Ranges[i].Largest+1
		if lo >= hi {
			continue
		}
		var known bool
		if known, cursor = r.acked.coversFrom(cursor, lo, hi); known {
			continue // nothing new, and no insertion
		}
		cursor = 0 // the insertion below moves spans
		r.acked.gaps(lo, hi, func(a, b uint64) {
			for pn := a; pn < b; pn++ {
				if p := r.ring.get(pn); p != nil && r.ackPacket(now, p, h) {
					newest = p
				}
			}
		})
		r.acked.add(lo, hi)
	}
	if !r.anyAcked || largest > r.largestAcked {
		r.largestAcked, r.anyAcked = largest, true
	}
	var rttSample time.Duration
	if newest != nil && newest.pn == largest && newest.ackEliciting {
		rttSample = now.Sub(newest.sent)
		r.rtt.update(rttSample, min(f.Delay, peerMaxAckDelay))
		if r.firstSampleTime.IsZero() {
			r.firstSampleTime = now
		}
	}
	if newest != nil {
		r.sampleDeliveryRate(now, newest)
		r.ptoCount = 0
	}
	r.detectLost(now, h)
	r.report(now, prior, rttSample, f.Delay)
	r.observeFates()
	r.forget(now)
	return nil
}

// observeFates feeds the loss estimator the fates of in-flight packets,
// in packet-number order, up to the first still outstanding. A packet the
// peer rebuilt from FEC is lost: the path lost it.
func (r *recovery) observeFates() {
	r.fateCursor = max(r.fateCursor, r.ring.base)
	for p := r.ring.get(r.fateCursor); p != nil && p.state != pktOutstanding; p = r.ring.get(r.fateCursor) {
		if p.inFlight {
			r.est.Observe(p.state == pktLost)
		}
		r.fateCursor++
	}
}

// ackPacket marks one packet acknowledged; it reports whether the packet
// was newly acknowledged.
func (r *recovery) ackPacket(now time.Time, p *sentPacket, h recoveryHandler) bool {
	wasLost := false
	switch p.state {
	case pktAcked:
		return false
	case pktLost:
		if p.fec&fecRecovered != 0 {
			return false // lost and rebuilt by the peer: it is what the path did
		}
		r.stats.spurious++
		wasLost = true
	default:
		if p.inFlight {
			r.bytesInFlight -= p.size
			r.ackedQ = append(r.ackedQ, cc.Packet{Number: p.pn, Bytes: p.size, SentTime: p.sent})
		}
		if p.ackEliciting {
			r.ackElicitingInFlight--
		}
	}
	p.state = pktAcked
	r.stats.acked++
	r.stats.bytesAcked += uint64(p.size)
	r.delivered += uint64(p.size)
	r.deliveredTime = now
	h.onPacketAcked(p, wasLost)
	return true
}

func (r *recovery) sampleDeliveryRate(now time.Time, p *sentPacket) {
	interval := now.Sub(p.deliveredTime)
	if interval <= 0 || r.delivered <= p.delivered {
		return
	}
	r.deliveryRate = float64(r.delivered-p.delivered) / interval.Seconds()
}

// detectLost declares lost every outstanding packet at least
// packetThreshold below the largest acknowledged, or sent longer than the
// loss delay ago, and arms the loss timer for the rest.
func (r *recovery) detectLost(now time.Time, h recoveryHandler) {
	r.lossTime = time.Time{}
	if !r.anyAcked {
		return
	}
	lossDelay := r.rtt.lossDelay()
	lostBefore := now.Add(-lossDelay)
	r.scanPN = max(r.scanPN, r.ring.base)
	var runStart time.Time // first send time of the current run of lost packets
	for pn := r.scanPN; pn <= r.largestAcked; pn++ {
		p := r.ring.get(pn)
		if p == nil {
			break
		}
		if p.state != pktOutstanding {
			if pn == r.scanPN {
				r.scanPN++
			}
			if p.state == pktAcked {
				runStart = time.Time{}
			}
			continue
		}
		if pn+packetThreshold <= r.largestAcked || !p.sent.After(lostBefore) {
			r.markLost(p, h)
			if pn == r.scanPN {
				r.scanPN++
			}
			if p.ackEliciting {
				if runStart.IsZero() {
					runStart = p.sent
				}
				r.checkPersistent(now, runStart, p.sent)
			}
			continue
		}
		if t := p.sent.Add(lossDelay); r.lossTime.IsZero() || t.Before(r.lossTime) {
			r.lossTime = t
		}
	}
}

func (r *recovery) markLost(p *sentPacket, h recoveryHandler) {
	r.lose(p)
	h.onPacketLost(p)
}

// lose moves an outstanding packet to lost, for the controller (lostQ)
// and the loss estimator.
func (r *recovery) lose(p *sentPacket) {
	p.state = pktLost
	if p.inFlight {
		r.bytesInFlight -= p.size
		r.lostQ = append(r.lostQ, cc.Packet{Number: p.pn, Bytes: p.size, SentTime: p.sent})
	}
	if p.ackEliciting {
		r.ackElicitingInFlight--
	}
	r.stats.lost++
}

// onRecovered applies a FEC_RECOVERED frame: the peer rebuilt these
// packets from FEC. They were lost in the network, so an outstanding one
// is declared lost to the controller now; the handler credits their
// message data as delivered. Repeated reports are ignored.
func (r *recovery) onRecovered(now time.Time, pns []uint64, h recoveryHandler) {
	r.ackedQ, r.lostQ = r.ackedQ[:0], r.lostQ[:0]
	prior := r.bytesInFlight
	for _, pn := range pns {
		p := r.ring.get(pn)
		if p == nil || p.state == pktAcked || p.fec&fecRecovered != 0 {
			continue
		}
		p.fec |= fecRecovered
		wasOutstanding := p.state == pktOutstanding
		if wasOutstanding {
			r.lose(p)
		}
		h.onPacketRecovered(p, wasOutstanding)
	}
	r.report(now, prior, 0, 0)
	r.observeFates()
	r.forget(now)
}

// checkPersistent tells the controller about persistent congestion: a run
// of lost ack-eliciting packets, with nothing acknowledged between them,
// spanning more than three probe timeouts (RFC 9002 §7.6), counted only
// for packets sent after the first RTT sample.
func (r *recovery) checkPersistent(now, start, end time.Time) {
	if r.firstSampleTime.IsZero() || start.Before(r.firstSampleTime) {
		return
	}
	if end.Sub(start) > 3*r.rtt.pto(peerMaxAckDelay) {
		r.stats.persistent++
		r.cc.OnPersistentCongestion(now)
	}
}

// report hands the controller what this ACK or timer taught.
func (r *recovery) report(now time.Time, prior int, sample, ackDelay time.Duration) {
	if len(r.ackedQ) == 0 && len(r.lostQ) == 0 {
		return
	}
	r.ev = cc.CongestionEvent{
		Acked: r.ackedQ, Lost: r.lostQ,
		PriorInFlight: prior, BytesInFlight: r.bytesInFlight,
		RTT: r.rtt.stats(), AckDelay: ackDelay,
	}
	r.ev.RTT.Latest = sample
	r.cc.OnCongestionEvent(now, &r.ev)
}

// forget drops resolved records from the front: acknowledged ones at once,
// lost ones one probe timeout after they were sent (until then a late ACK
// can still cancel the retransmission of their data).
func (r *recovery) forget(now time.Time) {
	keepLost := now.Add(-r.rtt.pto(peerMaxAckDelay))
	for p := r.ring.front(); p != nil; p = r.ring.front() {
		if p.state == pktOutstanding || (p.state == pktLost && (p.sent.After(keepLost) || p.fec&fecHeld != 0)) {
			break // (held: its data still waits on its FEC group)
		}
		r.ring.popFront()
	}
	r.acked.removeBelow(r.ring.base)
}

// timer is when onTimeout must run: the loss timer, else the probe timer.
func (r *recovery) timer() time.Time {
	if !r.lossTime.IsZero() {
		return r.lossTime
	}
	if r.ackElicitingInFlight == 0 {
		return time.Time{}
	}
	pto := r.rtt.pto(peerMaxAckDelay) << min(r.ptoCount, 16)
	return r.lastAckElicitingSent.Add(pto)
}

// onTimeout runs the loss or probe timer if it is due.
func (r *recovery) onTimeout(now time.Time, h recoveryHandler) {
	t := r.timer()
	if t.IsZero() || now.Before(t) {
		return
	}
	if !r.lossTime.IsZero() {
		r.ackedQ, r.lostQ = r.ackedQ[:0], r.lostQ[:0]
		prior := r.bytesInFlight
		r.detectLost(now, h)
		r.report(now, prior, 0, 0)
		r.observeFates()
		r.forget(now)
		return
	}
	r.ptoCount++
	r.stats.ptos++
	r.probes = 2
}

// requeueOldest queues the data of the oldest outstanding packets for a
// probe to carry when it has nothing new to send (RFC 9002 §6.2.4 allows
// probes to repeat unacknowledged data). A PING alone only asks for an
// ACK; when the window or the peer's flow control leaves just a few
// packets in flight (a retransmission that fills the hole the receiver
// waits on, the tail of a transfer), resending their data is what ends the
// stall, and the copies cost at most the two probe packets.
func (r *recovery) requeueOldest(now time.Time, h recoveryHandler) {
	n := 0
	for pn := max(r.scanPN, r.ring.base); pn < r.ring.next() && n < 2; pn++ {
		p := r.ring.get(pn)
		if p.state != pktOutstanding || !p.ackEliciting || len(p.frames) == 0 {
			continue
		}
		h.onPacketLost(p)
		n++
	}
}

// canSend reports whether congestion control admits a packet of size
// bytes now; owed probes always go.
func (r *recovery) canSend(size int) bool {
	return r.probes > 0 || r.bytesInFlight+size <= r.cc.CongestionWindow()
}

func (r *recovery) String() string {
	return fmt.Sprintf("inflight=%d cwnd=%d largestAcked=%d scan=%d ring=%d", r.bytesInFlight, r.cc.CongestionWindow(), r.largestAcked, r.scanPN, r.ring.len())
}

// ackHandshake acknowledges packet 0 (our Init) on receipt of the
// InitResponse, which can only be produced from it.
func (r *recovery) ackHandshake(now time.Time, h recoveryHandler) {
	if p := r.ring.get(0); p != nil && p.state == pktOutstanding {
		r.ackPacket(now, p, h)
		r.acked.add(0, 1)
		r.largestAcked, r.anyAcked = 0, true
		r.forget(now)
	}
}
