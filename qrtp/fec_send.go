package qrtp

import (
	"math"
	"slices"
	"time"

	"github.com/qrtn/qrtn/qrtp/fec"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// The sending half of FEC. Packets that carry MESSAGE frames of streams
// with an FEC budget are the sources: after a packet is sealed, the bytes
// of its MESSAGE frames (exactly as framed, each with its length) go to
// the fec.Encoder, which groups them and, when a group is sealed (full,
// at the end of a message, or after the policy's group delay), produces
// repair symbols. Each repair travels in its own FEC_REPAIR frame, which
// lists the group's source packet numbers so the receiver can tell which
// of the packets it holds belong to the group.
//
// Loss accounting: every packet, repairs included, is sent, acknowledged
// and lost like any other, so the controller sees FEC as sent bytes and
// the loss estimator sees the path's real loss. A source that the peer
// rebuilt was still lost in the network: it is reported lost to the
// controller and the estimator, and only its MESSAGE data is credited as
// delivered (FEC_RECOVERED). While a lost source's group may still be
// decoded, its message data is held rather than retransmitted; it is
// released for retransmission once the group cannot succeed, or once the
// peer acknowledged enough symbols to decode it yet did not report the
// packet recovered.

const (
	// fecChooseMin is the shortest interval between two policy choices;
	// otherwise the policy runs about once per smoothed RTT.
	fecChooseMin = 10 * time.Millisecond
	// fecMinSamples: below this many observed packets the loss estimate
	// is noise, and the policy sizes FEC for fecCautiousLoss instead.
	fecMinSamples = 20
	// fecSettledSamples: below this many fates the estimate may still be
	// far off (at 50% loss, 23 fates came out as 22% in one run, and FEC
	// sized for that lost four frames of the first half second), so FEC
	// stays sized for at least fecCautiousLoss; unless nothing was lost
	// yet, which on a lossy path is rare (0.3^20 at 30%), so a clean path
	// stops paying for repairs after 20 fates as before.
	fecSettledSamples = 100
	// fecCautiousLoss is the loss FEC is sized for until the estimate
	// rests on fecMinSamples packets: the worst the targets name. Without
	// it the first frames on a fresh connection went unprotected, and at
	// 50% loss and a deadline too short for a retransmission most of the
	// first second was lost. On a clean path it costs repair packets for
	// the first round trip or so of media, until 20 fates are known; a
	// trunk that carried control messages and keep-alives before its
	// media has its estimate by then.
	fecCautiousLoss = 0.5
	// fecTarget is the chance a message may miss its deadline that the
	// policy sizes FEC for. The trunk target is 99.5% of frames within
	// 400 ms; at the policy's default (0.5%) a 300 ms deadline, where no
	// retransmission fits at RTT 200 ms, left no margin for the estimate's
	// noise (99.0–99.4% of frames at 50% loss over 20 s).
	fecTarget = 0.001
	// fecEstimatorWindow is the loss estimator's memory in packets: long
	// enough for a stable rate (±3% at 50%), short enough to follow a path
	// that degrades within a few seconds of media.
	fecEstimatorWindow = 400
	// fecMaxQueued bounds the repair frames waiting for the pacer.
	fecMaxQueued = 256
	// fecMaxGroups bounds the groups tracked on the sending side.
	fecMaxGroups = 1024
	// fecUnitMaxOpen: a unit in progress stops holding groups open after
	// this long when the parameters name no group delay.
	fecUnitMaxOpen = 40 * time.Millisecond
)

// fecRepairOverhead bounds what a FEC_REPAIR frame for a group of k
// sources adds to its symbol's payload: type, group ID (8), index, K and N
// (2 each), the first packet number (8), k−1 deltas (2 each: the sources
// of one group are never 16k packets apart), the symbol length (2) and
// the symbol's own 2-byte length prefix.
func fecRepairOverhead(k int) int { return 1 + 8 + 2 + 2 + 2 + 8 + 2*max(k-1, 0) + 2 + 2 }

// Packet FEC roles, in sentPacket.fec.
const (
	fecSource    uint8 = 1 << iota // its MESSAGE frames are a source symbol of fecSrc
	fecRepair                      // it carries a repair symbol of fecRep
	fecHeld                        // lost; its message data waits on the group
	fecRecovered                   // the peer rebuilt it (FEC_RECOVERED)
)

// txGroup is the sender's view of one FEC group, until the fate of all
// its symbols is known.
type txGroup struct {
	id     uint64
	srcs   []uint64 // source packet numbers by index
	k, n   int      // sources and symbols, known once sealed (0 before)
	acked  int      // symbols the peer acknowledged
	lost   int      // symbols lost (or dropped before sending)
	held   []uint64 // lost sources whose message data waits on the group
	queued bool     // in fecSend.dirty
}

// failed: fewer than k symbols can still arrive.
func (g *txGroup) failed() bool { return g.n > 0 && g.n-g.lost < g.k }

// decodable: the peer acknowledged k symbols, so it could rebuild the rest.
func (g *txGroup) decodable() bool { return g.n > 0 && g.acked >= g.k }

// resolved: every symbol was acknowledged or lost.
func (g *txGroup) resolved() bool { return g.n > 0 && g.acked+g.lost >= g.n }

type queuedRepair struct {
	group uint64
	b     []byte // the encoded FEC_REPAIR frame
	at    time.Time
}

// fecSend is one connection's FEC sender: the encoder, the policy that
// sets its parameters, the groups in flight and the repairs waiting to go.
type fecSend struct {
	enc    *fec.Encoder
	policy *fec.Policy
	params fec.Params
	room   int // frame bytes of a packet

	// What the policy is told, measured between two choices.
	nextChoose   time.Time
	periodStart  time.Time
	newPackets   int           // packets with first transmissions of protected data
	unitPackets  int           // packets of the units (messages) that ended
	unitSquares  int           // the sum of their squared sizes in packets
	deadline     time.Duration // tightest message lifetime seen (0: none)
	budget       float64       // largest stream budget seen
	rate, perMsg float64       // smoothed packets/s and packets per unit (see framed)
	lastDeadline time.Duration
	lastBudget   float64

	// The packet being built.
	cur       []byte // its protected MESSAGE frames
	class     uint8  // 0: no MESSAGE frame yet, 1: protected, 2: unprotected
	flush     bool   // it ends a message: seal the open groups after it
	newData   bool   // it carries first transmissions of protected data
	repairFor uint64 // group of the repair it carries, if hasRepair
	hasRepair bool
	repairLen int

	open   []*Stream // streams with a unit in progress (see framed)
	groups map[uint64]*txGroup
	free   []*txGroup
	dirty  []*txGroup
	queue  []queuedRepair
	bufs   [][]byte
	frame  wire.FECRepairFrame

	stats struct {
		repairs, repairBytes, sources, dropped uint64
	}
}

func newFECSend(room int) *fecSend {
	return &fecSend{
		enc:    fec.NewEncoder(fec.EncoderConfig{MaxPayload: room}),
		room:   room,
		groups: make(map[uint64]*txGroup),
	}
}

// maxSource is the most protected bytes a packet may carry so that its
// group's repair frames still fit in a packet.
func (f *fecSend) maxSource() int { return f.room - fecRepairOverhead(f.params.K) }

// noteMessage records a queued message's lifetime and its stream's budget
// for the next policy choice.
func (f *fecSend) noteMessage(lifetime time.Duration, budget float64) {
	if budget <= 0 {
		return
	}
	if f.deadline == 0 || lifetime < f.deadline {
		f.deadline = max(lifetime, time.Millisecond)
	}
	f.budget = max(f.budget, budget)
}

// maybeChoose runs the policy about once per RTT while protected streams
// are active, and applies its choice to the encoder.
func (f *fecSend) maybeChoose(now time.Time, c *Conn) {
	if now.Before(f.nextChoose) || (f.budget == 0 && f.lastBudget == 0) {
		return
	}
	srtt := c.rec.rtt.srtt()
	f.nextChoose = now.Add(max(srtt, fecChooseMin))
	if !f.periodStart.IsZero() && f.newPackets > 0 {
		if el := now.Sub(f.periodStart).Seconds(); el > 0 {
			f.rate = smooth(f.rate, float64(f.newPackets)/el)
		}
		if f.unitPackets > 0 {
			f.perMsg = smooth(f.perMsg, float64(f.unitSquares)/float64(f.unitPackets))
		}
	}
	if f.deadline > 0 {
		f.lastDeadline = f.deadline
	}
	if f.budget > 0 {
		f.lastBudget = f.budget
	}
	f.periodStart, f.newPackets, f.unitPackets, f.unitSquares, f.deadline, f.budget = now, 0, 0, 0, 0, 0
	if f.policy == nil || f.policy.Config().Budget != f.lastBudget {
		f.policy = fec.NewPolicy(fec.PolicyConfig{Budget: f.lastBudget, MaxShards: fecMaxShards, Target: fecTarget})
	}
	cond := fec.Conditions{RTT: srtt, Deadline: f.lastDeadline, PacketRate: f.rate, MessagePackets: f.perMsg}
	cond.Loss, cond.MeanBurst = fecLoss(c.rec.est)
	f.setParams(now, c, f.policy.Choose(cond))
}

// fecLoss is the loss rate (and burstiness) the policy sizes FEC for: the
// estimate plus one standard error of a binomial over the fates it rests
// on, so that an estimate from few packets errs on the safe side; and
// fecCautiousLoss until it rests on fecMinSamples packets. The estimator
// sees every in-flight packet, so keep-alives and control messages sent
// before media, and the handshake's tries, count.
func fecLoss(est *fec.Estimator) (loss, burst float64) {
	p, n := est.Loss(), min(float64(est.Samples()), fecEstimatorWindow)
	switch {
	case n < fecMinSamples:
		return max(p, fecCautiousLoss), 0
	case p > 0 && n < fecSettledSamples:
		return max(p+math.Sqrt(p*(1-p)/n), fecCautiousLoss), 0
	}
	return min(p+math.Sqrt(p*(1-p)/n), 1), est.MeanBurst()
}

// smooth folds a new per-period measurement into a running estimate.
func smooth(old, sample float64) float64 {
	if old == 0 {
		return sample
	}
	return (old + sample) / 2
}

func (f *fecSend) setParams(now time.Time, c *Conn, p fec.Params) {
	if err := f.enc.SetParams(p); err != nil {
		c.log.Debug("qrtp: fec parameters refused", "err", err)
		_ = f.enc.SetParams(fec.Params{})
		p = fec.Params{}
	}
	f.params = p
	f.collect(now, c)
}

// beginPacket resets the per-packet state before a packet is built.
func (f *fecSend) beginPacket() {
	f.cur = f.cur[:0]
	f.class, f.flush, f.newData, f.hasRepair = 0, false, false, false
}

// admit decides whether a MESSAGE frame of s may join the packet being
// built, and how many frame bytes it may take. Protected and unprotected
// MESSAGE frames never share a packet: the receiver takes all of a
// packet's MESSAGE frames as its source symbol.
func (f *fecSend) admit(s *Stream, avail int) (room int, ok bool) {
	class := uint8(2)
	if f.params.Enabled() && s.opts.FECBudget > 0 {
		class = 1
	}
	if f.class != 0 && f.class != class {
		return 0, false
	}
	if class == 1 && f.hasRepair {
		// A repair's symbol is as large as its group's largest packet: a
		// packet carrying one has little room left, and a tiny source
		// would cost a whole symbol in its own group's repairs.
		return 0, false
	}
	if class == 1 {
		avail = min(avail, f.maxSource()-len(f.cur))
	}
	return avail, true
}

// framed records a MESSAGE frame written into the packet being built:
// frame is its bytes; newData says it carries never-sent bytes; end says
// the unit (a message, or messages sent with SendMessageMore and the one
// that ends them, or a retransmission) is now fully sent.
//
// Groups are per connection, not per stream, so the end of one stream's
// unit seals the groups only while no other stream has a unit in progress:
// otherwise each audio packet relayed in the middle of a video frame would
// cut the frame's group in two, each part paying for its own repairs. The
// unit in progress ends the group instead (or the group delay does).
//
// The policy is told the typical unit size as a packet-weighted mean (the
// size of the unit an average packet belongs to), not the mean per unit:
// a connection relaying 50 one-packet audio messages and 25 seven-packet
// video frames a second has units of 2.7 packets on average, and groups
// that small would split every frame into three groups, each paying for
// its own repairs; weighted by packets the size is 5.7.
func (f *fecSend) framed(now time.Time, s *Stream, frame []byte, newData, end bool) {
	protected := f.params.Enabled() && s.opts.FECBudget > 0
	if f.class == 0 {
		f.class = 2
		if protected {
			f.class = 1
		}
	}
	if s.opts.FECBudget > 0 && newData {
		f.newData = true
		if s.ms.unitPackets++; s.ms.unitPackets == 1 && !end {
			s.ms.unitSince = now
			if protected && !s.ms.unitListed {
				s.ms.unitListed = true
				f.open = append(f.open, s)
			}
		}
		if end {
			n := s.ms.unitPackets
			f.unitPackets += n
			f.unitSquares += n * n
			s.ms.unitPackets = 0
		}
	}
	if !protected {
		return
	}
	f.cur = append(f.cur, frame...)
	f.flush = f.flush || end
}

// nextRepair returns the next queued repair frame if it fits in room,
// dropping repairs that waited longer than ttl (their sources have been
// found lost by now, and retransmission took over).
func (f *fecSend) nextRepair(now time.Time, c *Conn, room int, ttl time.Duration) []byte {
	for len(f.queue) > 0 && now.Sub(f.queue[0].at) > ttl {
		f.dropQueued(c)
	}
	if len(f.queue) == 0 || len(f.queue[0].b) > room {
		return nil
	}
	q := f.queue[0]
	f.queue[0] = queuedRepair{}
	f.queue = f.queue[1:]
	f.bufs = append(f.bufs, q.b[:0])
	f.hasRepair, f.repairFor, f.repairLen = true, q.group, len(q.b)
	return q.b // valid until the next collect, which happens after sealing
}

// dropQueued discards the oldest queued repair: one symbol fewer for its
// group.
func (f *fecSend) dropQueued(c *Conn) {
	q := f.queue[0]
	f.queue[0] = queuedRepair{}
	f.queue = f.queue[1:]
	f.bufs = append(f.bufs, q.b[:0])
	f.stats.dropped++
	if g := f.groups[q.group]; g != nil {
		g.n--
		f.touch(g)
	}
}

// afterPacket registers the packet just sealed: the repair it carried, and
// its protected frames as a source symbol (sealing groups as due).
func (f *fecSend) afterPacket(now time.Time, c *Conn, p *sentPacket, overhead int) {
	if f.newData {
		f.newPackets++
	}
	if f.hasRepair {
		p.fec |= fecRepair
		p.fecRep = f.repairFor
		f.stats.repairs++
		f.stats.repairBytes += uint64(f.repairLen + overhead)
	}
	if len(f.cur) == 0 {
		return
	}
	id, err := f.enc.Add(now, f.cur)
	if err != nil {
		c.log.Debug("qrtp: fec source refused", "err", err)
		return
	}
	f.stats.sources++
	g := f.groups[id.Group]
	if g == nil {
		g = f.newGroup(id.Group)
	}
	g.srcs = append(g.srcs, p.pn)
	p.fec |= fecSource
	p.fecSrc = id.Group
	if f.flush && !f.unitsOpen(now) {
		if err := f.enc.Flush(); err != nil {
			c.log.Debug("qrtp: fec flush", "err", err)
		}
	}
	f.collect(now, c)
}

func (f *fecSend) newGroup(id uint64) *txGroup {
	var g *txGroup
	if n := len(f.free); n > 0 {
		g, f.free = f.free[n-1], f.free[:n-1]
	} else {
		g = &txGroup{}
	}
	*g = txGroup{id: id, srcs: g.srcs[:0], held: g.held[:0]}
	f.groups[id] = g
	return g
}

// collect queues the repair frames the encoder produced.
func (f *fecSend) collect(now time.Time, c *Conn) {
	for _, r := range f.enc.Repairs() {
		g := f.groups[r.Group]
		if g == nil {
			continue
		}
		if g.n == 0 {
			g.k, g.n = r.K, r.K+r.M
			f.touch(g)
		}
		f.frame = wire.FECRepairFrame{GroupID: r.Group, Index: r.Index, K: r.K, N: r.K + r.M, Packets: g.srcs, Symbol: r.Data}
		var b []byte
		if n := len(f.bufs); n > 0 {
			b, f.bufs = f.bufs[n-1], f.bufs[:n-1]
		}
		b = f.frame.Append(b[:0])
		if len(b) > f.room {
			// Only if a group's sources were too far apart for the
			// overhead reserved for their packet numbers.
			f.bufs = append(f.bufs, b[:0])
			g.n--
			f.stats.dropped++
			continue
		}
		if len(f.queue) >= fecMaxQueued {
			f.dropQueued(c)
		}
		f.queue = append(f.queue, queuedRepair{group: r.Group, b: b, at: now})
	}
}

// pending reports repairs waiting to be sent.
func (f *fecSend) pending() bool { return len(f.queue) > 0 }

// onTimer seals groups open longer than the policy's group delay.
func (f *fecSend) onTimer(now time.Time, c *Conn) {
	if t := f.enc.NextFlush(); !t.IsZero() && !now.Before(t) {
		if err := f.enc.FlushDue(now); err != nil {
			c.log.Debug("qrtp: fec flush", "err", err)
		}
		f.collect(now, c)
	}
}

// symbolFate counts an acknowledged or lost packet against its groups.
func (f *fecSend) symbolFate(p *sentPacket, acked, wasLost bool) {
	count := func(id uint64) {
		g := f.groups[id]
		if g == nil {
			return
		}
		switch {
		case acked && wasLost:
			g.lost--
			g.acked++
		case acked:
			g.acked++
		default:
			g.lost++
		}
		f.touch(g)
	}
	if p.fec&fecSource != 0 {
		count(p.fecSrc)
	}
	if p.fec&fecRepair != 0 {
		count(p.fecRep)
	}
}

// hold decides, for a source packet just declared lost, whether its
// message data should wait for the group to be decoded instead of being
// retransmitted now.
func (f *fecSend) hold(p *sentPacket) bool {
	if p.fec&fecSource == 0 {
		return false
	}
	g := f.groups[p.fecSrc]
	if g == nil || g.failed() || g.decodable() {
		return false
	}
	p.fec |= fecHeld
	g.held = append(g.held, p.pn)
	return true
}

func (f *fecSend) touch(g *txGroup) {
	if !g.queued {
		g.queued = true
		f.dirty = append(f.dirty, g)
	}
}

// settle acts on the groups whose symbols' fates changed: held sources of
// a group that failed, or that the peer could decode but did not report
// rebuilt, go to retransmission; resolved groups are forgotten.
func (f *fecSend) settle(c *Conn) {
	for len(f.dirty) > 0 {
		g := f.dirty[len(f.dirty)-1]
		f.dirty = f.dirty[:len(f.dirty)-1]
		g.queued = false
		if len(g.held) > 0 && (g.failed() || g.decodable()) {
			for _, pn := range g.held {
				if p := c.rec.ring.get(pn); p != nil && p.fec&fecHeld != 0 {
					p.fec &^= fecHeld
					c.loseMessages(p)
				}
			}
			g.held = g.held[:0]
		}
		if g.resolved() && len(g.held) == 0 {
			delete(f.groups, g.id)
			f.free = append(f.free, g)
		}
	}
	if len(f.groups) > fecMaxGroups {
		f.forgetOldest(c)
	}
}

// forgetOldest bounds the groups tracked when fates stop arriving (a
// connection whose peer went silent): the older half goes, and its held
// data is released for retransmission.
func (f *fecSend) forgetOldest(c *Conn) {
	ids := make([]uint64, 0, len(f.groups))
	for id := range f.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids[:len(ids)/2] {
		g := f.groups[id]
		for _, pn := range g.held {
			if p := c.rec.ring.get(pn); p != nil && p.fec&fecHeld != 0 {
				p.fec &^= fecHeld
				c.loseMessages(p)
			}
		}
		delete(f.groups, id)
		f.free = append(f.free, g)
	}
}
