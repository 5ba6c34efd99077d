package qrtp

import "time"

// frameKind says what a sent frame was, so an ACK or a loss can be applied
// to its source: data is marked acknowledged or queued again; control
// frames are re-queued with their current value.
type frameKind uint8

const (
	fkStream frameKind = iota + 1
	fkMessage
	fkDatagram
	fkMaxData
	fkMaxStreamData
	fkMaxStreams
	fkReset
	fkExpired
	fkNewCID
	fkPathChallenge
)

// sentFrame records one retransmittable frame of a sent packet.
type sentFrame struct {
	kind frameKind
	fin  bool
	n    uint32 // data length, or count for fkExpired
	s    *Stream
	off  uint64 // stream offset or fragment offset
	seq  uint64 // message sequence, first expired sequence, CID sequence
}

// Packet states in the ring.
const (
	pktOutstanding uint8 = iota
	pktAcked
	pktLost
)

// sentPacket is the sender's record of one packet until it is acknowledged
// or declared lost (and, for lost ones, a while longer so a late ACK can
// still stop a needless retransmission).
type sentPacket struct {
	pn           uint64
	sent         time.Time
	size         int
	state        uint8
	ackEliciting bool
	inFlight     bool
	// hasAck says the packet carried an ACK frame covering [ackLo, ackHi]:
	// once this packet is acknowledged, the peer knows those packets
	// arrived and we stop reporting them.
	hasAck       bool
	ackLo, ackHi uint64
	// hasReport says it carried FEC_RECOVERED for [reportLo, reportHi]:
	// once it is acknowledged the peer has seen those reported.
	hasReport          bool
	reportLo, reportHi uint64
	// fec holds its FEC roles (fecSource, fecRepair, ...) and fecSrc and
	// fecRep the groups it is a source and a repair symbol of.
	fec            uint8
	fecSrc, fecRep uint64
	// delivered and deliveredTime snapshot the connection's delivery
	// counter when the packet left, for delivery-rate samples.
	delivered     uint64
	deliveredTime time.Time
	frames        []sentFrame
}

// sentRing holds sent packets by packet number: slot (pn - base) in a
// power-of-two ring. Packet numbers are consecutive, so lookup is O(1) and
// slots (with their frames' capacity) are reused without allocating.
type sentRing struct {
	slots []sentPacket
	head  int    // slot of base
	n     int    // packets held
	base  uint64 // packet number of the oldest held
}

func (r *sentRing) len() int { return r.n }

// next is the packet number the next push gets.
func (r *sentRing) next() uint64 { return r.base + uint64(r.n) }

// push appends a fresh record for packet number r.next().
func (r *sentRing) push() *sentPacket {
	if r.n == len(r.slots) {
		r.grow()
	}
	i := (r.head + r.n) & (len(r.slots) - 1)
	p := &r.slots[i]
	frames := p.frames[:0]
	*p = sentPacket{pn: r.base + uint64(r.n), frames: frames}
	r.n++
	return p
}

func (r *sentRing) grow() {
	size := max(2*len(r.slots), 64)
	ns := make([]sentPacket, size)
	for i := 0; i < r.n; i++ {
		ns[i] = r.slots[(r.head+i)&(len(r.slots)-1)]
	}
	r.slots, r.head = ns, 0
}

// get returns the record of pn, or nil if it is not held.
func (r *sentRing) get(pn uint64) *sentPacket {
	if pn < r.base || pn >= r.base+uint64(r.n) {
		return nil
	}
	return &r.slots[(r.head+int(pn-r.base))&(len(r.slots)-1)]
}

func (r *sentRing) front() *sentPacket {
	if r.n == 0 {
		return nil
	}
	return &r.slots[r.head]
}

// popFront forgets the oldest record, keeping its frame capacity.
func (r *sentRing) popFront() {
	p := &r.slots[r.head]
	for i := range p.frames {
		p.frames[i].s = nil // let closed streams be collected
	}
	r.head = (r.head + 1) & (len(r.slots) - 1)
	r.n--
	r.base++
}
