package qrtp

import (
	"time"

	"github.com/qrtn/qrtn/qrtp/wire"
)

// ackState is the receiver's side of acknowledgement: which packet numbers
// arrived, when an ACK is due and how to write one.
//
// An ACK is due after ackThreshold ack-eliciting packets or after the ACK
// delay, whichever comes first. Ranges stay in the set until the peer has
// seen an ACK that reported them (we learn that when the packet carrying
// that ACK is itself acknowledged), so under heavy loss every gap is
// reported until the sender knows; the set is also capped so a peer that
// never acknowledges cannot grow it.
type ackState struct {
	received    rangeSet
	largest     uint64
	hasLargest  bool
	largestTime time.Time

	pending    bool // something arrived since the last ACK we sent
	eliciting  int  // ack-eliciting packets since the last ACK
	total      uint64
	deadline   time.Time
	immediate  bool
	ackOnlyRun int // ACK-only packets sent in a row
	scratch    []wire.AckRange
}

// threshold: ACK every second ack-eliciting packet, as TCP and QUIC do.
// Sparser ACKs save reverse bandwidth but, with small windows on lossy
// paths, one lost ACK then leaves a whole round unacknowledged and costs
// a probe timeout.
func (a *ackState) threshold() int { return 2 }

// maxTrackedRanges caps the received set when the peer never confirms our
// ACKs; the oldest ranges go first.
const maxTrackedRanges = 4 * wire.MaxAckRanges

// onReceived records packet pn, which arrived at now.
func (a *ackState) onReceived(now time.Time, pn uint64, ackEliciting bool, ackDelay time.Duration) {
	a.received.add(pn, pn+1)
	if a.received.len() > maxTrackedRanges {
		a.received.removeBelow(a.received.at(a.received.len() - maxTrackedRanges).start)
	}
	if !a.hasLargest || pn > a.largest {
		a.largest, a.hasLargest, a.largestTime = pn, true, now
	}
	a.pending = true
	if !ackEliciting {
		return
	}
	a.total++
	a.eliciting++
	if pn == 0 || a.eliciting >= a.threshold() {
		a.immediate = true
	}
	if a.deadline.IsZero() {
		a.deadline = now.Add(ackDelay)
	}
}

// due reports whether an ACK must be sent now.
func (a *ackState) due(now time.Time) bool {
	return a.pending && (a.immediate || (!a.deadline.IsZero() && !now.Before(a.deadline)))
}

// timer is when an ACK becomes due, zero if none is pending.
func (a *ackState) timer() time.Time {
	if !a.pending || a.deadline.IsZero() {
		return time.Time{}
	}
	return a.deadline
}

// appendAck writes an ACK frame of at most maxLen bytes, newest ranges
// first, and returns the range of packet numbers it covers.
func (a *ackState) appendAck(b []byte, now time.Time, maxLen int) ([]byte, uint64, uint64, bool) {
	n := a.received.len()
	if n == 0 {
		return b, 0, 0, false
	}
	a.scratch = a.scratch[:0]
	for i := n - 1; i >= 0 && len(a.scratch) < wire.MaxAckRanges; i-- {
		s := a.received.at(i)
		a.scratch = append(a.scratch, wire.AckRange{Smallest: s.start, Largest: s.end - 1})
	}
	delay := max(now.Sub(a.largestTime), 0)
	out, written := wire.AppendAck(b, delay, a.scratch, maxLen)
	if written == 0 {
		return b, 0, 0, false
	}
	return out, a.scratch[written-1].Smallest, a.scratch[0].Largest, true
}

// onAckSent resets the triggers after an ACK went out.
func (a *ackState) onAckSent() {
	a.pending, a.immediate = false, false
	a.eliciting = 0
	a.deadline = time.Time{}
}

// onAckAcked forgets ranges the peer is known to have seen.
func (a *ackState) onAckAcked(lo, hi uint64) {
	// Keep the largest so ACKs stay meaningful for the peer's RTT samples.
	if a.hasLargest && hi >= a.largest {
		hi = a.largest - 1
		if a.largest == 0 {
			return
		}
	}
	a.received.remove(lo, hi+1)
}
