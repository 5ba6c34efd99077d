package trunk

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
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

// holdFor is how long a gap in a flow is waited on before the local SFU.
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
func (t *Trunk) holdFor(f *flow) time.Duration {
	sc := t.cfg.Scenarios[string(f.mode)]
	hops := max(len(f.path)-1, 1)
	fec := time.Duration(hops)*sc.Latency + reorderSlack
	if f.mode != route.Live || f.kind == "audio" {
		return fec
	}
	var sum, longest time.Duration
	for i := 0; i+1 < len(f.path); i++ {
		ls, ok := t.ls.get(f.path[i])
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
	more := false
	if len(b) >= 12 {
		more = f.unit.more(binary.BigEndian.Uint16(b[2:4]), b[1]&0x80 != 0, f.kind == "video")
	}
	for name := range f.down {
		p := t.peers[name]
		os := p.out[f.key]
		if os == nil {
			p.metrics.mediaDrops++
			continue
		}
		send := os.s.SendMessage
		if more {
			send = os.s.SendMessageMore
		}
		if _, err := send(now, b, time.Time{}); err != nil {
			os.drops++
			p.metrics.mediaDrops++
			continue
		}
		os.bytes += uint64(len(b))
		p.metrics.mediaOut += uint64(len(b))
	}
}

// localPacket is one RTP packet a local receiver handed to a trunk sink,
// in a buffer of the trunk's pool.
type localPacket struct {
	key  flowKey
	data *[]byte
}

// localMedia forwards a packet of a locally published track and returns
// its buffer to the pool (fanOut's sends copy it).
func (t *Trunk) localMedia(now time.Time, m localPacket) {
	if f := t.flows[m.key]; f != nil && f.up == t.cfg.Name {
		t.fanOut(now, f, *m.data)
	}
	t.bufs.put(m.data)
}

// bufPool recycles the buffers that carry local packets from SFU
// goroutines to the loop, so that taking a layer out of the SFU costs one
// copy and no allocation per packet.
type bufPool struct{ p sync.Pool }

// maxPooled: larger buffers (never an RTP packet) are not kept.
const maxPooled = 2048

func (bp *bufPool) get(n int) *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, 0, max(n, 1500))
	return &b
}

func (bp *bufPool) put(b *[]byte) {
	if cap(*b) <= maxPooled {
		bp.p.Put(b)
	}
}
