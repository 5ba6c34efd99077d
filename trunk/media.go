package trunk

import (
	"encoding/binary"
	"time"
)

// receiveBind maps a peer's media stream to a flow and releases media that
// arrived on it first.
func (t *Trunk) receiveBind(now time.Time, p *peer, b Bind) {
	p.in[b.Stream] = inStream{key: flowKey{b.Track, b.Layer}, kind: b.Kind}
	held := p.pending[b.Stream]
	delete(p.pending, b.Stream)
	for _, m := range held {
		t.forwardMedia(now, p, flowKey{b.Track, b.Layer}, m)
	}
	if p.conn != nil {
		t.readMedia(now, p, b.Stream)
	}
}

// readMedia reads every complete message of one of the peer's media streams.
func (t *Trunk) readMedia(now time.Time, p *peer, id uint64) {
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
		t.forwardMedia(now, p, is.key, m.Data)
	}
}

// forwardMedia takes one RTP packet from a trunk: it must come from the
// flow's upstream (or its new upstream, which it then becomes), and each
// packet is forwarded once.
func (t *Trunk) forwardMedia(now time.Time, p *peer, k flowKey, b []byte) {
	p.metrics.mediaIn += uint64(len(b))
	f := t.flows[k]
	if f == nil || len(b) < 12 {
		t.stats.unwanted++
		return
	}
	from := p.info.Name
	switch from {
	case f.up:
	case f.next:
		t.promote(now, f)
	default:
		f.stale++
		return
	}
	if !f.seen.fresh(binary.BigEndian.Uint16(b[2:4])) {
		f.dups++
		return
	}
	t.fanOut(now, f, b)
	if f.local && t.access != nil {
		f.order.push(now, binary.BigEndian.Uint16(b[2:4]), b, func(p []byte) { t.access.deliver(now, k, p) })
		if len(f.order.held) > 0 {
			t.holding[f] = struct{}{}
		}
	}
}

// holdFor is how long a gap in a flow is waited on before the local SFU:
// long enough for a retransmission on each hop of the path to arrive (a
// repair takes about one and a half round trips of its trunk), never longer
// than a hop's deadline, after which the message has expired anyway.
func (t *Trunk) holdFor(f *flow) time.Duration {
	deadline := t.cfg.Scenarios[string(f.mode)].Deadline
	var sum, longest time.Duration
	for i := 0; i+1 < len(f.path); i++ {
		ls, ok := t.ls.get(f.path[i])
		if !ok {
			return deadline
		}
		for _, l := range ls.Links {
			if l.Peer == f.path[i+1] {
				rtt := time.Duration(l.RTTMicros) * time.Microsecond
				sum, longest = sum+rtt, max(longest, rtt)
			}
		}
	}
	return min(hopDeadline(deadline, longest), sum*3/2+20*time.Millisecond)
}

// expireHeld releases packets held behind gaps that stayed open for the
// scenario's deadline, and returns when it next needs to run.
func (t *Trunk) expireHeld(now time.Time) time.Time {
	var next time.Time
	for f := range t.holding {
		at := time.Time{}
		if t.flows[f.key] == f && t.access != nil {
			at = f.order.expire(now, t.holdFor(f), func(p []byte) { t.access.deliver(now, f.key, p) })
		}
		if at.IsZero() {
			delete(t.holding, f)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// fanOut sends one packet to every downstream trunk of a flow.
func (t *Trunk) fanOut(now time.Time, f *flow, b []byte) {
	f.lastIn = now
	f.packets++
	f.bytes += uint64(len(b))
	for name := range f.down {
		p := t.peers[name]
		os := p.out[f.key]
		if os == nil {
			p.metrics.mediaDrops++
			continue
		}
		if _, err := os.s.SendMessage(now, b, time.Time{}); err != nil {
			os.drops++
			p.metrics.mediaDrops++
			continue
		}
		os.bytes += uint64(len(b))
		p.metrics.mediaOut += uint64(len(b))
	}
}

// localPacket is one RTP packet a local receiver handed to a trunk sink.
type localPacket struct {
	key  flowKey
	data []byte
}

// localMedia forwards a packet of a locally published track.
func (t *Trunk) localMedia(now time.Time, m localPacket) {
	f := t.flows[m.key]
	if f == nil || f.up != t.cfg.Name {
		return
	}
	t.fanOut(now, f, m.data)
}
