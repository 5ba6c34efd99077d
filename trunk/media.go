package trunk

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// This file is the media relay: RTP packets in from trunks and from the
// local side, out to downstream trunks and to the local side. Route
// decisions are the forwarding table's (flow.go); the relay only asks it
// whether a packet passes. docs/packet-path.md follows one packet through.

// receiveBind maps a peer's media stream to a flow and releases media that
// arrived on it first.
func (c *Core) receiveBind(now time.Time, p *peer, b Bind) {
	k := flowKey{b.Track, b.Layer}
	p.in[b.Stream] = inStream{key: k, kind: b.Kind}
	held := p.pending[b.Stream]
	delete(p.pending, b.Stream)
	for _, m := range held {
		c.forwardMedia(now, p, k, c.flows.get(k), m)
	}
	if p.conn != nil {
		c.readMedia(now, p, b.Stream)
	}
}

// readMedia reads every complete message of one of the peer's media streams.
func (c *Core) readMedia(now time.Time, p *peer, id uint64) {
	if p.conn == nil {
		return
	}
	s := p.conn.Stream(id)
	if s == nil {
		return
	}
	is, bound := p.in[id]
	for {
		m, ok := s.ReadMessage()
		if !ok {
			return
		}
		if !bound {
			if len(p.pending[id]) < maxPendingMedia && len(p.pending) < 4*maxPendingMedia {
				p.pending[id] = append(p.pending[id], m.Data)
			} else {
				p.metrics.mediaDrops++
			}
			continue
		}
		if is.gen != c.flows.gen {
			is.f, is.gen = c.flows.get(is.key), c.flows.gen
			p.in[id] = is
		}
		c.forwardMedia(now, p, is.key, is.f, m.Data)
	}
}

// forwardMedia takes one RTP packet of flow f (nil: none, k names it)
// from a trunk (b is the caller's to give away: QRTP hands each message's
// buffer to its reader).
func (c *Core) forwardMedia(now time.Time, p *peer, k flowKey, f *flow, b []byte) {
	p.metrics.mediaIn += uint64(len(b))
	p.lastMedia = now
	if f == nil || len(b) < 12 {
		c.stats.unwanted++
		return
	}
	next := f.next
	seq, ok := c.flows.admit(f, p.info.Name, binary.BigEndian.Uint16(b[2:4]))
	if !ok {
		return
	}
	binary.BigEndian.PutUint16(b[2:4], seq) // rebased after an upstream change
	if next != "" && f.up == next {
		c.subsDirty = true // the switch completed: unsubscribe the old upstream
	}
	if c.tap != nil {
		c.tap(now, p.info.Name, k.track, k.layer, b)
	}
	c.fanOut(now, f, b)
	if f.local && c.local != nil {
		emit := func(pkt []byte) { c.local.Deliver(now, k.track, k.layer, pkt) }
		if f.reorder {
			f.reorder = false
			f.order.restart(emit)
		}
		f.order.push(now, seq, b, emit)
		if len(f.order.held) > 0 {
			c.holding[f] = struct{}{}
		}
	}
}

// holdFor is how long a gap in a flow is waited on before the local side.
// Every packet after the gap waits with it, so the hold is a latency cost
// paid by the frames that follow a loss, not only by the lost one.
//
// A packet that QRTP rebuilt from FEC on some hop arrives within that
// hop's Latency, so the hold is at least the path's total: in meeting
// rooms and for audio that is all, since a packet later than that needs a
// retransmission round trip, and holding every following packet for it
// would turn one loss into a freeze (the late packet still goes to the
// SFU, which forwards it: the subscriber's jitter buffer reorders). Live
// video puts quality first: it also waits for a retransmission on each
// hop of the path (a repair takes about one and a half round trips of its
// trunk), never longer than a hop's deadline, after which the message has
// expired anyway.
func (c *Core) holdFor(f *flow) time.Duration {
	sc := c.cfg.Scenarios[string(f.mode)]
	hops := max(len(f.path)-1, 1)
	fec := time.Duration(hops)*sc.Latency + reorderSlack
	if f.mode != route.Live || f.kind == "audio" {
		return fec
	}
	var sum, longest time.Duration
	for i := 0; i+1 < len(f.path); i++ {
		ls, ok := c.ls.get(f.path[i])
		if !ok {
			return max(fec, sc.Deadline)
		}
		for _, l := range ls.Links {
			if l.Peer == f.path[i+1] {
				rtt := time.Duration(l.RTTMicros) * time.Microsecond
				sum, longest = sum+rtt, max(longest, rtt)
			}
		}
	}
	return max(fec, min(hopDeadline(sc.Deadline, longest), sum*3/2+20*time.Millisecond))
}

// reorderSlack is added to the time FEC repairs take along a path before
// a gap is skipped: scheduling on a loaded node, and the packets of the
// frame that follow the lost one.
const reorderSlack = 10 * time.Millisecond

// expireHeld releases packets held behind gaps that stayed open for the
// flow's hold, and returns when it next needs to run (zero: nothing held).
func (c *Core) expireHeld(now time.Time) time.Time {
	var next time.Time
	held := make([]*flow, 0, len(c.holding))
	for f := range c.holding {
		held = append(held, f)
	}
	slices.SortFunc(held, func(a, b *flow) int { return a.key.compare(b.key) })
	for _, f := range held {
		at := time.Time{}
		if c.flows.get(f.key) == f && c.local != nil {
			k := f.key
			at = f.order.expire(now, c.holdFor(f), func(pkt []byte) { c.local.Deliver(now, k.track, k.layer, pkt) })
		}
		if at.IsZero() {
			delete(c.holding, f)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// fanOut sends one packet to every downstream trunk of a flow. QRTP copies
// it into each stream's send queue; b is not kept.
func (c *Core) fanOut(now time.Time, f *flow, b []byte) {
	f.lastIn = now
	f.packets++
	f.bytes += uint64(len(b))
	more := false
	if len(b) >= 12 {
		more = f.unit.more(binary.BigEndian.Uint16(b[2:4]), b[1]&0x80 != 0, f.kind == "video")
	}
	if f.outsGen != c.flows.gen || len(f.outs) != len(f.down) {
		f.outs = f.outs[:0]
		for _, name := range f.down {
			p := c.byName[name]
			f.outs = append(f.outs, fanTarget{p: p, os: p.out[f.key]})
		}
		f.outsGen = c.flows.gen
	}
	scenario := c.cfg.Scenarios[string(f.mode)].Deadline
	for _, t := range f.outs {
		p, os := t.p, t.os
		if os == nil {
			p.metrics.mediaDrops++
			continue
		}
		pkt := b
		if os.cut != nil {
			if pkt = os.cut.Filter(b); pkt == nil {
				p.metrics.temporalDrops++ // a temporal layer the peer does not want (temporal.go)
				continue
			}
		}
		send := os.s.SendMessage
		if more {
			send = os.s.SendMessageMore
		}
		if _, err := send(now, pkt, mediaDeadline(now, p, scenario)); err != nil {
			os.drops++
			p.metrics.mediaDrops++
			continue
		}
		os.packets++
		os.bytes += uint64(len(pkt))
		p.metrics.mediaOut += uint64(len(pkt))
	}
}

// LocalRTP is the local side's input: one packet of a local layer that
// StartLayer started. b is only read during the call.
func (c *Core) LocalRTP(now time.Time, ref TrackRef, layer int, b []byte) {
	c.now = now
	if f := c.flows.get(flowKey{ref, layer}); f != nil && f.up == c.cfg.Name && f.sending {
		c.fanOut(now, f, b)
	}
}
