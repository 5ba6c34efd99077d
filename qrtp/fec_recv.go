package qrtp

import (
	"time"

	"github.com/qrtn/qrtn/qrtp/fec"
	"github.com/qrtn/qrtn/qrtp/wire"
)

// The receiving half of FEC. A packet does not say whether it is a source
// symbol: the FEC_REPAIR frames that follow list their group's source
// packet numbers. So the receiver keeps the MESSAGE frames of recent
// packets (by packet number, bounded) while the peer sends repairs, and
// hands a group's sources to the fec.Decoder when its first repair
// arrives; sources that arrive after it (reordering) are handed over as
// they come. A rebuilt packet's MESSAGE frames are processed as if they
// had arrived, and its number is reported in FEC_RECOVERED (repeated in
// every packet that carries an ACK until the peer acknowledged one of
// them), never in an ACK: the packet was lost in the network.

const (
	// fecMaxShards is the most symbols per group either side uses: the
	// sender's policy bound and the decoder's limit (which must be at
	// least the sender's).
	fecMaxShards = 64
	// fecKeepSources is how many recent packets' MESSAGE frames are kept
	// for groups whose repairs have not arrived yet: 40 ms of a group
	// delay plus pacing, at up to ~10k protected packets per second.
	fecKeepSources = 1024
	// fecStoreWhileLossy: sources are kept only while the path loses
	// packets or the peer sends repairs (within this long of the last gap
	// in packet numbers or the last repair), so clean connections pay
	// nothing. A gap comes before the sender sees the loss and turns FEC
	// on, so the first groups are kept too.
	fecStoreWhileLossy = 2 * time.Second
	// fecRxGroups and fecRxGroupAge bound the groups mapped to packet
	// numbers; the decoder has the same age limit.
	fecRxGroups   = 128
	fecRxGroupAge = 2 * time.Second
	// fecReportMax is the most packet numbers one FEC_RECOVERED carries;
	// fecReportRanges bounds the unconfirmed set.
	fecReportMax    = 64
	fecReportRanges = 256
)

// rxGroup maps one group's symbol indexes to packet numbers.
type rxGroup struct {
	id       uint64
	pns      []uint64
	k        int
	created  time.Time
	complete bool // every source arrived: repairs are ignored
}

type srcRef struct {
	group uint64
	index int
}

// srcSlot holds one received packet's MESSAGE frames.
type srcSlot struct {
	pn   uint64
	b    []byte
	used bool
}

// fecRecv is one connection's FEC receiver.
type fecRecv struct {
	dec        *fec.Decoder
	frame      wire.Frame // for rebuilt payloads: the packet loop owns Endpoint.frame
	capturing  bool
	cur        []byte // MESSAGE frames of the packet being processed
	lastRepair time.Time
	lastGap    time.Time

	slots []srcSlot
	next  int
	index map[uint64]int // packet number → slot

	groups map[uint64]*rxGroup
	order  []*rxGroup // oldest first
	want   map[uint64]srcRef

	report rangeSet // rebuilt packet numbers the peer has not confirmed
	stats  struct{ recovered, invalid uint64 }
}

func newFECRecv(maxPayload int) *fecRecv {
	return &fecRecv{
		dec: fec.NewDecoder(fec.DecoderConfig{
			MaxPayload: max(maxPayload, 1500), MaxShards: fecMaxShards, MaxGroups: 64, MaxAge: fecRxGroupAge,
		}),
		index:  make(map[uint64]int),
		groups: make(map[uint64]*rxGroup),
		want:   make(map[uint64]srcRef),
	}
}

// begin starts capturing the MESSAGE frames of a short packet.
func (r *fecRecv) begin() {
	r.capturing = true
	r.cur = r.cur[:0]
}

// message appends a parsed MESSAGE frame's bytes to the capture.
func (r *fecRecv) message(raw []byte) {
	if r.capturing {
		r.cur = append(r.cur, raw...)
	}
}

// end files the packet's MESSAGE frames as a potential source symbol.
func (r *fecRecv) end(now time.Time, c *Conn, pn uint64) error {
	r.capturing = false
	if len(r.cur) == 0 {
		return nil
	}
	if ref, ok := r.want[pn]; ok {
		delete(r.want, pn)
		if g := r.groups[ref.group]; g != nil && !g.complete {
			rec, _ := r.dec.AddSource(now, fec.SourceID{Group: ref.group, Index: ref.index}, r.cur)
			return r.deliver(c, rec)
		}
		return nil
	}
	if last := later(r.lastRepair, r.lastGap); last.IsZero() || now.Sub(last) > fecStoreWhileLossy {
		return nil
	}
	r.store(pn, r.cur)
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (r *fecRecv) store(pn uint64, b []byte) {
	if len(r.slots) < fecKeepSources {
		r.slots = append(r.slots, srcSlot{})
		r.next = len(r.slots) - 1
	}
	s := &r.slots[r.next]
	if s.used {
		delete(r.index, s.pn)
	}
	s.pn, s.used = pn, true
	s.b = append(s.b[:0], b...)
	r.index[pn] = r.next
	if len(r.slots) == fecKeepSources {
		r.next = (r.next + 1) % fecKeepSources
	}
}

func (r *fecRecv) stored(pn uint64) ([]byte, bool) {
	i, ok := r.index[pn]
	if !ok {
		return nil, false
	}
	return r.slots[i].b, true
}

// onRepair handles a FEC_REPAIR frame.
func (r *fecRecv) onRepair(now time.Time, c *Conn, f *wire.FECRepairFrame) error {
	r.lastRepair = now
	g := r.groups[f.GroupID]
	if g == nil {
		g = r.newGroup(now, c, f)
	} else if g.k != f.K || !equalPNs(g.pns, f.Packets) {
		r.stats.invalid++
		return nil
	}
	if g.complete {
		return nil
	}
	rec, err := r.dec.AddRepair(now, fec.Repair{Group: f.GroupID, Index: f.Index, K: f.K, M: f.N - f.K, Data: f.Symbol})
	if err != nil {
		r.stats.invalid++
	}
	return r.deliver(c, rec)
}

func equalPNs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newGroup maps a group's packets on its first repair and hands the
// decoder the sources already here; a group missing none is complete.
func (r *fecRecv) newGroup(now time.Time, c *Conn, f *wire.FECRepairFrame) *rxGroup {
	r.evictGroups(now)
	g := &rxGroup{id: f.GroupID, pns: append([]uint64(nil), f.Packets...), k: f.K, created: now}
	r.groups[g.id] = g
	r.order = append(r.order, g)
	missing := 0
	for _, pn := range g.pns {
		if _, ok := r.stored(pn); !ok {
			missing++
		}
	}
	if missing == 0 {
		g.complete = true
		return g
	}
	for i, pn := range g.pns {
		if b, ok := r.stored(pn); ok {
			_, _ = r.dec.AddSource(now, fec.SourceID{Group: g.id, Index: i}, b)
		} else if !c.replay.Seen(pn) {
			r.want[pn] = srcRef{group: g.id, index: i}
		}
	}
	return g
}

func (r *fecRecv) evictGroups(now time.Time) {
	for len(r.order) > 0 && (len(r.order) >= fecRxGroups || now.Sub(r.order[0].created) > fecRxGroupAge) {
		g := r.order[0]
		r.order[0] = nil
		r.order = r.order[1:]
		delete(r.groups, g.id)
		for _, pn := range g.pns {
			if ref, ok := r.want[pn]; ok && ref.group == g.id {
				delete(r.want, pn)
			}
		}
	}
}

// deliver processes rebuilt packets as if they had arrived and queues
// their numbers for FEC_RECOVERED.
func (r *fecRecv) deliver(c *Conn, rec []fec.Recovered) error {
	for _, x := range rec {
		g := r.groups[x.ID.Group]
		if g == nil || x.ID.Index >= len(g.pns) {
			continue
		}
		pn := g.pns[x.ID.Index]
		delete(r.want, pn)
		if c.replay.Seen(pn) {
			continue // it arrived after all (e.g. its source was not kept)
		}
		if err := r.process(c, x.Payload); err != nil {
			return err
		}
		r.stats.recovered++
		r.report.add(pn, pn+1)
		if r.report.len() > fecReportRanges {
			r.report.removeBelow(r.report.at(r.report.len() - fecReportRanges).start)
		}
		// Tell the sender soon, before it retransmits.
		c.acks.pending, c.acks.immediate = true, true
	}
	return nil
}

// process handles a rebuilt payload: the MESSAGE frames its packet carried.
func (r *fecRecv) process(c *Conn, b []byte) error {
	for len(b) > 0 {
		n, err := wire.ParseFrame(b, &r.frame)
		if err != nil || r.frame.Type != wire.FrameMessage {
			r.stats.invalid++
			return nil
		}
		b = b[n:]
		if err := c.onMessageFrame(&r.frame.Message); err != nil {
			return err
		}
	}
	return nil
}

// appendReport writes FEC_RECOVERED with the newest unconfirmed packet
// numbers that fit; it returns the span it covered.
func (r *fecRecv) appendReport(b []byte, room int) ([]byte, uint64, uint64, bool) {
	if r.report.empty() || room < 3 {
		return b, 0, 0, false
	}
	var pns [fecReportMax]uint64
	n := 0
	for i := r.report.len() - 1; i >= 0 && n < fecReportMax; i-- {
		s := r.report.at(i)
		for pn := s.end; pn > s.start && n < fecReportMax; pn-- {
			pns[n] = pn - 1
			n++
		}
	}
	list := pns[:n]
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	f := wire.FECRecoveredFrame{Packets: list}
	// Drop the oldest until it fits.
	for len(f.Packets) > 0 && wire.FECRecoveredLen(f.Packets) > room {
		f.Packets = f.Packets[1:]
	}
	if len(f.Packets) == 0 {
		return b, 0, 0, false
	}
	return f.Append(b), f.Packets[0], f.Packets[len(f.Packets)-1], true
}

// onReportAcked forgets packet numbers the peer has seen reported.
func (r *fecRecv) onReportAcked(lo, hi uint64) { r.report.remove(lo, hi+1) }
