package trunk

import (
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// This file is the life of a trunk as the Core runs it: dial or accept,
// the connection's events, up (both hellos), down (closed, silent or
// broken), re-dial with back-off, and the measurements flooded in link
// state.

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
	temporalDrops uint64 // media packets of temporal layers the peer does not want
	expiredOut    uint64
	controlErrors uint64
	// Control messages and bytes sent, by kind, and messages received,
	// all connections of the trunk together.
	ctrl     [numKinds]MessageCount
	ctrlRecv uint64
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

// dialPeers dials the peers this node is the dialer of and has no trunk to.
func (c *Core) dialPeers(now time.Time) {
	for _, p := range c.peers {
		if !p.dialer || p.conn != nil || now.Before(p.dialAt) {
			continue
		}
		conn, err := c.ep.Connect(now, p.info.Addr, &p.info.Key, c.connConfig())
		if err != nil {
			c.log.Warn("dial", "peer", p.info.Name, "err", err)
			c.scheduleRedial(now, p)
			continue
		}
		c.attach(now, p, conn)
		// The control stream and hello go out in the first datagram (0-RTT).
		// Its sparse, small messages (key frame requests, subscriptions)
		// go twice: one loss must not cost a probe timeout (controlOptions).
		s, err := conn.OpenStream(controlOptions())
		if err != nil {
			conn.Close(qrtp.CodeInternal, "control stream")
			continue
		}
		p.ctrl = s
		c.sendHello(p)
	}
}

// recentlyUp: a peer whose trunk was up this recently is re-dialled at
// most RedialRecent apart (a restarting node), others up to RedialMax.
const recentlyUp = time.Minute

// scheduleRedial sets when p is dialled next: the back-off doubles from
// RedialMin per failed dial up to the cap, plus up to a quarter of jitter.
func (c *Core) scheduleRedial(now time.Time, p *peer) {
	limit := c.cfg.RedialMax
	if !p.lastUp.IsZero() && now.Sub(p.lastUp) < recentlyUp {
		limit = c.cfg.RedialRecent
	}
	p.backoff = min(p.backoff, limit)
	// Jitter keeps a network that lost a node from re-dialling in lockstep.
	j := time.Duration(c.jitter.Int64N(int64(p.backoff)/4 + 1))
	p.dialAt = now.Add(p.backoff + j)
	c.log.Debug("redial", "peer", p.info.Name, "in", p.backoff+j, "why", p.downWhy)
	p.backoff = min(2*p.backoff, c.cfg.RedialMax)
}

// accepted takes a connection a peer opened. Only configured keys get here
// (the endpoint's Authorize), and only peers that dial us are kept.
func (c *Core) accepted(now time.Time, conn *qrtp.Conn) {
	p := c.byKey[conn.RemoteKey()]
	if p == nil || p.dialer || c.closed {
		conn.Close(qrtp.CodeApplication+1, "this node dials you")
		return
	}
	if p.conn != nil {
		// The peer restarted or lost its side: the new trunk replaces ours.
		old := p.conn
		c.peerDown(now, p, "replaced by a new connection")
		old.Close(qrtp.CodeNoError, "replaced")
	}
	c.attach(now, p, conn)
}

func (c *Core) attach(now time.Time, p *peer, conn *qrtp.Conn) {
	p.reset()
	c.flows.changed()
	p.conn = conn
	p.events = true // whatever it queued before it was ours
	p.connects++
	p.dialAt = now
}

// peerEvents processes one trunk's connection events.
func (c *Core) peerEvents(now time.Time, p *peer) {
	for p.conn != nil {
		ev, ok := p.conn.PollEvent()
		if !ok {
			return
		}
		switch ev.Kind {
		case qrtp.EventConnected:
			c.checkUp(now, p)
		case qrtp.EventStreamOpened:
			c.acceptStreams(now, p)
		case qrtp.EventStreamReadable:
			if p.ctrl != nil && ev.StreamID == p.ctrl.ID() {
				c.readControl(now, p)
			} else {
				c.readMedia(now, p, ev.StreamID)
			}
		case qrtp.EventStreamWritable:
			if p.ctrl != nil && ev.StreamID == p.ctrl.ID() {
				c.flushControl(now, p)
			}
		case qrtp.EventMessageExpired:
			p.metrics.expiredOut++
			c.mediaExpired(now, p, ev.StreamID) // expiry.go
		case qrtp.EventClosed:
			why := "closed"
			if ev.Err != nil {
				why = ev.Err.Error()
			}
			c.peerDown(now, p, why)
		}
	}
}

func (c *Core) acceptStreams(now time.Time, p *peer) {
	for s := p.conn.AcceptStream(); s != nil; s = p.conn.AcceptStream() {
		switch {
		case s.Mode() == qrtp.ModeReliable && p.ctrl == nil:
			s.SetRedundant(controlOptions().Redundant)
			p.ctrl = s
			c.sendHello(p)
			c.readControl(now, p)
		case s.Mode() == qrtp.ModeMessage:
			c.readMedia(now, p, s.ID())
		default:
			s.Reset(qrtp.CodeApplication + 2)
		}
		if p.conn == nil {
			return
		}
	}
}

// checkUp declares the trunk up once the handshake is done and the peer
// said hello.
func (c *Core) checkUp(now time.Time, p *peer) {
	if p.up || p.conn == nil || !p.conn.Established() || p.hello.Name == "" {
		return
	}
	p.up, p.upSince, p.backoff = true, now, c.cfg.RedialMin
	c.log.Info("trunk up", "peer", p.info.Name, "handshake", p.conn.HandshakeKind(), "rtt", p.conn.Stats().SmoothedRTT)
	// Full exchange: everything we know, so the peer converges at once.
	for _, ls := range c.ls.all() {
		c.sendControl(now, p, message{LinkState: &ls})
	}
	for _, rs := range c.rooms.all() {
		if tells(p, rs.Origin, rs.Room) {
			c.sendControl(now, p, message{Room: &rs})
		}
	}
	c.declareAll(now, p)
	c.lsDirty, c.subsDirty = true, true
}

// peerDown forgets a trunk: its subscriptions end, flows it fed are
// re-routed, and a dialer schedules a new dial.
func (c *Core) peerDown(now time.Time, p *peer, why string) {
	if p.conn == nil {
		return
	}
	wasUp := p.up
	p.metrics.addClosed(p.conn.Stats())
	p.reset()
	c.flows.changed()
	p.downAt, p.downWhy = now, why
	if wasUp {
		p.lastUp = now
	}
	if p.dialer {
		if wasUp {
			p.backoff = c.cfg.RedialMin
		}
		c.scheduleRedial(now, p)
	}
	if wasUp {
		c.log.Warn("trunk down", "peer", p.info.Name, "why", why)
	}
	c.stats.trunkFailures++
	c.lsDirty = true
	c.resync()
	c.peerLost(p.info.Name)
}

// closePeer closes a trunk this node found broken (protocol error,
// control backlog) and forgets it.
func (c *Core) closePeer(now time.Time, p *peer, why string) {
	if p.conn == nil {
		return
	}
	conn := p.conn
	c.peerDown(now, p, why)
	conn.Close(qrtp.CodeApplication+4, why)
}

func (c *Core) peerUp(name string) bool {
	p := c.byName[name]
	return p != nil && p.up
}

// measurePeers refreshes every trunk's metrics from QRTP's statistics.
func (c *Core) measurePeers() {
	for _, p := range c.peers {
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
		followRTT(p) // expiry.go
	}
}

// controlOptions are the control stream's, at both ends. Redundant: a
// message that empties the stream's queue (a key frame request, a
// subscription: most of them) is sent twice, in two packets. Without it, a
// lost one waits for the probe timeout, 1.2 round trips or more, and then
// a retransmission; on a lossy trunk that was the slowest part of a new
// subscriber's first frame (docs/scheduling.md).
func controlOptions() qrtp.StreamOptions {
	return qrtp.StreamOptions{Mode: qrtp.ModeReliable, Priority: qrtp.PriorityControl, Redundant: true}
}
