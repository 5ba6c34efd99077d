package trunk

import (
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// peer is the trunk to one configured node.
type peer struct {
	info   peerInfo
	dialer bool

	conn     *qrtp.Conn
	ctrl     *qrtp.Stream
	up       bool // connected and hello received
	upSince  time.Time
	ctrlIn   []byte // received control bytes not yet parsed
	ctrlOut  []byte // control frames waiting for send-buffer space
	hello    Hello
	dialAt   time.Time
	backoff  time.Duration
	downAt   time.Time
	downWhy  string
	connects uint64

	// out are the media streams this node sends on, per flow; in maps the
	// peer's media streams to flows (from its Bind messages), and pending
	// holds media that arrived on a stream before its Bind.
	out     map[flowKey]*outStream
	in      map[uint64]inStream
	pending map[uint64][][]byte

	// recvSubs is what the peer subscribed to here; sentSubs what we
	// subscribed to there (per track: layer mask and path).
	recvSubs map[TrackRef]Subscribe
	sentSubs map[TrackRef]Subscribe
	// rejected holds when the peer refused a subscription (Unavailable),
	// so that it is not asked again before the next re-plan.
	rejected map[TrackRef]time.Time

	metrics peerMetrics
}

type outStream struct {
	s     *qrtp.Stream
	bytes uint64
	drops uint64
}

type inStream struct {
	key  flowKey
	kind string
}

// peerMetrics are the trunk's measurements, refreshed every link-state
// interval from QRTP's statistics.
type peerMetrics struct {
	rtt, minRTT   time.Duration
	loss          float64 // recent, smoothed
	bandwidth     float64 // bits/s
	lastSent      uint64
	lastLost      uint64
	stats         qrtp.ConnStats
	mediaIn       uint64 // media bytes received
	mediaOut      uint64 // media bytes sent
	mediaDrops    uint64 // media messages not queued (buffer full, no stream)
	expiredOut    uint64
	controlErrors uint64
	// closed sums the counters of the trunk's earlier connections, so
	// that the totals exported survive re-dials.
	closed struct{ sent, received, fec, retx, expired uint64 }
}

// addClosed folds a finished connection's counters into the totals.
func (m *peerMetrics) addClosed(st qrtp.ConnStats) {
	m.closed.sent += st.BytesSent
	m.closed.received += st.BytesReceived
	m.closed.fec += st.FECBytesSent
	m.closed.retx += st.BytesRetransmitted
	m.closed.expired += st.MessagesExpired
	m.stats = qrtp.ConnStats{}
}

// maxPendingMedia bounds what is held for a stream whose Bind has not
// arrived yet (the control message is normally ahead of the media).
const maxPendingMedia = 64

// maxCtrlBacklog: a peer that does not read its control stream for this
// much is broken; the trunk is closed and re-dialled.
const maxCtrlBacklog = 8 << 20

func (p *peer) reset() {
	p.conn, p.ctrl, p.up = nil, nil, false
	p.ctrlIn, p.ctrlOut = nil, nil
	p.out = map[flowKey]*outStream{}
	p.in = map[uint64]inStream{}
	p.pending = map[uint64][][]byte{}
	p.recvSubs = map[TrackRef]Subscribe{}
	p.sentSubs = map[TrackRef]Subscribe{}
	p.rejected = map[TrackRef]time.Time{}
	p.metrics.lastSent, p.metrics.lastLost = 0, 0
}

// dialPeers dials the peers this node is the dialer of and has no trunk to.
func (t *Trunk) dialPeers(now time.Time) {
	for _, p := range t.peers {
		if !p.dialer || p.conn != nil || now.Before(p.dialAt) {
			continue
		}
		c, err := t.ep.Connect(now, p.info.Addr, &p.info.Key, t.connConfig())
		if err != nil {
			t.log.Warn("dial", "peer", p.info.Name, "err", err)
			t.scheduleRedial(now, p)
			continue
		}
		t.attach(now, p, c)
		// The control stream and hello go out in the first datagram (0-RTT).
		s, err := c.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeReliable, Priority: qrtp.PriorityControl})
		if err != nil {
			c.Close(qrtp.CodeInternal, "control stream")
			continue
		}
		p.ctrl = s
		t.sendHello(p)
	}
}

func (t *Trunk) scheduleRedial(now time.Time, p *peer) {
	// Jitter keeps a network that lost a node from re-dialling in lockstep.
	j := time.Duration(rand.Int64N(int64(p.backoff)/4 + 1))
	p.dialAt = now.Add(p.backoff + j)
	p.backoff = min(2*p.backoff, t.cfg.RedialMax)
}

// accepted takes a connection a peer opened. Only configured keys get here
// (the endpoint's Authorize), and only peers that dial us are kept.
func (t *Trunk) accepted(now time.Time, c *qrtp.Conn) {
	p := t.byKey[c.RemoteKey()]
	if p == nil || p.dialer {
		c.Close(qrtp.CodeApplication+1, "this node dials you")
		return
	}
	if p.conn != nil {
		// The peer restarted or lost its side: the new trunk replaces ours.
		old := p.conn
		t.peerDown(now, p, "replaced by a new connection")
		old.Close(qrtp.CodeNoError, "replaced")
	}
	t.attach(now, p, c)
}

func (t *Trunk) attach(now time.Time, p *peer, c *qrtp.Conn) {
	p.reset()
	p.conn = c
	p.connects++
	p.dialAt = now
}

// peerEvents processes one trunk's connection events.
func (t *Trunk) peerEvents(now time.Time, p *peer) {
	for p.conn != nil {
		ev, ok := p.conn.PollEvent()
		if !ok {
			return
		}
		switch ev.Kind {
		case qrtp.EventConnected:
			t.checkUp(now, p)
		case qrtp.EventStreamOpened:
			t.acceptStreams(now, p)
		case qrtp.EventStreamReadable:
			if p.ctrl != nil && ev.StreamID == p.ctrl.ID() {
				t.readControl(now, p)
			} else {
				t.readMedia(now, p, ev.StreamID)
			}
		case qrtp.EventStreamWritable:
			if p.ctrl != nil && ev.StreamID == p.ctrl.ID() {
				t.flushControl(p)
			}
		case qrtp.EventMessageExpired:
			p.metrics.expiredOut++
		case qrtp.EventClosed:
			why := "closed"
			if ev.Err != nil {
				why = ev.Err.Error()
			}
			t.peerDown(now, p, why)
		}
	}
}

func (t *Trunk) acceptStreams(now time.Time, p *peer) {
	for s := p.conn.AcceptStream(); s != nil; s = p.conn.AcceptStream() {
		switch {
		case s.Mode() == qrtp.ModeReliable && p.ctrl == nil:
			p.ctrl = s
			t.sendHello(p)
			t.readControl(now, p)
		case s.Mode() == qrtp.ModeMessage:
			t.readMedia(now, p, s.ID())
		default:
			s.Reset(qrtp.CodeApplication + 2)
		}
	}
}

// checkUp declares the trunk up once the handshake is done and the peer
// said hello.
func (t *Trunk) checkUp(now time.Time, p *peer) {
	if p.up || p.conn == nil || !p.conn.Established() || p.hello.Name == "" {
		return
	}
	p.up, p.upSince, p.backoff = true, now, t.cfg.RedialMin
	t.log.Info("trunk up", "peer", p.info.Name, "handshake", p.conn.HandshakeKind(), "rtt", p.conn.Stats().SmoothedRTT)
	// Full exchange: everything we know, so the peer converges at once.
	for _, ls := range t.ls.all() {
		t.sendControl(p, message{LinkState: &ls})
	}
	for _, rs := range t.rooms.all() {
		t.sendControl(p, message{Room: &rs})
	}
	t.lsDirty, t.subsDirty = true, true
}

// peerDown forgets a trunk: its subscriptions end, flows it fed are
// re-routed, and a dialer schedules a new dial.
func (t *Trunk) peerDown(now time.Time, p *peer, why string) {
	if p.conn == nil {
		return
	}
	wasUp := p.up
	p.metrics.addClosed(p.conn.Stats())
	p.reset()
	p.downAt, p.downWhy = now, why
	if p.dialer {
		if wasUp {
			p.backoff = t.cfg.RedialMin
		}
		t.scheduleRedial(now, p)
	}
	if wasUp {
		t.log.Warn("trunk down", "peer", p.info.Name, "why", why)
	}
	t.stats.trunkFailures++
	t.lsDirty, t.subsDirty = true, true
	t.peerLost(now, p.info.Name)
}

func (t *Trunk) sendHello(p *peer) {
	t.sendControl(p, message{Hello: &Hello{Name: t.cfg.Name, Region: t.cfg.Region, Role: string(t.cfg.Role), Version: protocolVersion}})
}

// sendControl queues one control message to a peer.
func (t *Trunk) sendControl(p *peer, m message) {
	if p.ctrl == nil {
		return
	}
	b, err := appendFrame(p.ctrlOut, m)
	if err != nil {
		t.log.Error("control message", "peer", p.info.Name, "err", err)
		return
	}
	p.ctrlOut = b
	t.flushControl(p)
}

func (t *Trunk) flushControl(p *peer) {
	for len(p.ctrlOut) > 0 && p.ctrl != nil {
		n, err := p.ctrl.Write(p.ctrlOut)
		p.ctrlOut = p.ctrlOut[n:]
		if errors.Is(err, qrtp.ErrBufferFull) || n == 0 {
			break
		}
		if err != nil {
			return
		}
	}
	if len(p.ctrlOut) == 0 {
		p.ctrlOut = nil
	} else if len(p.ctrlOut) > maxCtrlBacklog && p.conn != nil {
		p.conn.Close(qrtp.CodeApplication+3, "control backlog")
	}
}

// readControl reads and handles every complete control frame.
func (t *Trunk) readControl(now time.Time, p *peer) {
	var buf [16 << 10]byte
	for p.ctrl != nil {
		n, err := p.ctrl.Read(buf[:])
		p.ctrlIn = append(p.ctrlIn, buf[:n]...)
		if err == io.EOF || (err != nil && n == 0) {
			t.closePeer(now, p, "control stream ended")
			return
		}
		if n == 0 {
			break
		}
	}
	for p.conn != nil {
		m, n, err := parseFrame(p.ctrlIn)
		if err != nil {
			p.metrics.controlErrors++
			t.log.Warn("control", "peer", p.info.Name, "err", err)
			t.closePeer(now, p, err.Error())
			return
		}
		if n == 0 {
			break
		}
		p.ctrlIn = p.ctrlIn[n:]
		t.handleControl(now, p, m)
	}
	if len(p.ctrlIn) == 0 {
		p.ctrlIn = nil
	}
}

func (t *Trunk) closePeer(now time.Time, p *peer, why string) {
	if p.conn == nil {
		return
	}
	c := p.conn
	t.peerDown(now, p, why)
	c.Close(qrtp.CodeApplication+4, why)
}

// handleControl dispatches one control message from p.
func (t *Trunk) handleControl(now time.Time, p *peer, m message) {
	switch {
	case m.Hello != nil:
		if m.Hello.Name != p.info.Name {
			t.closePeer(now, p, "hello from "+m.Hello.Name+", expected "+p.info.Name)
			return
		}
		p.hello = *m.Hello
		t.checkUp(now, p)
		return
	case p.hello.Name == "":
		t.closePeer(now, p, "message before hello")
		return
	case m.LinkState != nil:
		t.receiveLinkState(now, p, *m.LinkState)
	case m.Room != nil:
		t.receiveRoom(now, p, *m.Room)
	case m.Subscribe != nil:
		t.receiveSubscribe(now, p, *m.Subscribe)
	case m.Bind != nil:
		t.receiveBind(now, p, *m.Bind)
	case m.Keyframe != nil:
		t.requestKeyframe(now, flowKey{m.Keyframe.Track, m.Keyframe.Layer})
	case m.Unavailable != nil:
		t.receiveUnavailable(now, p, *m.Unavailable)
	case m.Data != nil:
		t.receiveData(p, *m.Data)
	}
}

// flood sends a record to every trunk but the one it came from.
func (t *Trunk) flood(from string, m message) {
	for _, p := range t.peers {
		if p.up && p.info.Name != from {
			t.sendControl(p, m)
		}
	}
}

func (t *Trunk) receiveLinkState(now time.Time, p *peer, ls LinkState) {
	if ls.Origin == t.cfg.Name {
		// Our own record, flooded back: if it is newer than ours (we
		// restarted and our counter fell behind), jump past it.
		if ls.Seq >= t.seq {
			t.seq = ls.Seq
			t.lsDirty = true
		}
		return
	}
	old, had := t.ls.get(ls.Origin)
	if !t.ls.update(now, ls) {
		return
	}
	t.flood(p.info.Name, message{LinkState: &ls})
	if !had || linksChanged(old, ls) {
		// A trunk came or went somewhere: plan again now rather than at the
		// next periodic re-plan, so a failure is routed around at once.
		t.subsDirty = true
	}
}

// linksChanged reports whether a trunk changed state between two records.
func linksChanged(a, b LinkState) bool {
	if len(a.Links) != len(b.Links) {
		return true
	}
	up := map[string]bool{}
	for _, l := range a.Links {
		up[l.Peer] = l.Up
	}
	for _, l := range b.Links {
		if was, ok := up[l.Peer]; !ok || was != l.Up {
			return true
		}
	}
	return false
}

func (t *Trunk) receiveRoom(now time.Time, p *peer, rs RoomState) {
	if rs.Origin == t.cfg.Name {
		if rs.Seq >= t.seq {
			t.seq = rs.Seq
			if t.access != nil {
				t.access.readvertise()
			}
		}
		return
	}
	if !t.rooms.update(now, rs) {
		return
	}
	t.flood(p.info.Name, message{Room: &rs})
	if t.access != nil {
		t.access.remoteChanged(rs.Room)
	}
	t.subsDirty = true
}

// measurePeers refreshes every trunk's metrics from QRTP's statistics.
func (t *Trunk) measurePeers(now time.Time) {
	for _, p := range t.peers {
		if p.conn == nil {
			continue
		}
		st := p.conn.Stats()
		m := &p.metrics
		m.stats = st
		m.rtt, m.minRTT = st.SmoothedRTT, st.MinRTT
		if ds := st.PacketsSent - m.lastSent; ds >= 20 && m.lastSent != 0 {
			sample := float64(st.PacketsLost-m.lastLost) / float64(ds)
			m.loss = 0.7*m.loss + 0.3*min(sample, 1)
		}
		if ds := st.PacketsSent - m.lastSent; ds >= 20 || m.lastSent == 0 {
			m.lastSent, m.lastLost = st.PacketsSent, st.PacketsLost
		}
		// The controller's estimate when it keeps one (BBR family); else
		// what its window allows per round trip.
		bw := st.Controller.BandwidthEst
		if bw == 0 && st.SmoothedRTT > 0 {
			bw = float64(st.CWND) / st.SmoothedRTT.Seconds()
		}
		m.bandwidth = bw * 8
	}
}

// originateLinkState floods this node's trunks and load.
func (t *Trunk) originateLinkState(now time.Time) {
	t.lsAt = now
	ls := LinkState{Origin: t.cfg.Name, Seq: t.nextSeq(), Region: t.cfg.Region, Role: string(t.cfg.Role),
		Load: t.load(), HTTP: t.http.Load().(string)}
	for _, name := range t.peerNames() {
		p := t.peers[name]
		lm := LinkMetric{Peer: name, Up: p.up}
		if p.up {
			lm.RTTMicros = p.metrics.rtt.Microseconds()
			lm.Loss = min(max(p.metrics.loss, 0), 1)
			lm.Bandwidth = p.metrics.bandwidth
		}
		ls.Links = append(ls.Links, lm)
	}
	t.ls.update(now, ls)
	t.flood("", message{LinkState: &ls})
}

// load is the node's utilisation for the planner: forwarded track layers
// over the configured capacity.
func (t *Trunk) load() float64 {
	n := 0
	for _, f := range t.flows {
		n += len(f.down)
	}
	return min(float64(n)/float64(t.cfg.Capacity), 1)
}
