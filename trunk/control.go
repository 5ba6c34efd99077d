package trunk

import (
	"time"
)

// This file is the control protocol as the Core speaks it (PROTOCOL.md):
// sending and reading control frames, dispatching them, and flooding the
// link-state and room records.

func (c *Core) sendHello(p *peer) {
	c.sendControl(c.now, p, message{Hello: &Hello{Name: c.cfg.Name, Region: c.cfg.Region, Role: string(c.cfg.Role), Version: protocolVersion}})
}

// sendControl queues one control message to a peer; a peer that lets its
// control stream back up is closed.
func (c *Core) sendControl(now time.Time, p *peer, m message) {
	if err := p.send(m); err != nil {
		c.log.Error("control message", "peer", p.info.Name, "err", err)
		if err == errCtrlBacklog {
			c.closePeer(now, p, err.Error())
		}
	}
}

func (c *Core) flushControl(now time.Time, p *peer) {
	if err := p.flush(); err != nil {
		c.closePeer(now, p, err.Error())
	}
}

// readControl reads and handles every complete control frame.
func (c *Core) readControl(now time.Time, p *peer) {
	conn := p.conn
	err := p.readFrames(func(m message) bool {
		c.handleControl(now, p, m)
		return p.conn == conn // the trunk is still the same one
	})
	if err != nil && p.conn == conn {
		c.log.Warn("control", "peer", p.info.Name, "err", err)
		c.closePeer(now, p, err.Error())
	}
}

// handleControl dispatches one control message from p.
func (c *Core) handleControl(now time.Time, p *peer, m message) {
	switch {
	case m.Hello != nil:
		if m.Hello.Name != p.info.Name {
			c.closePeer(now, p, "hello from "+m.Hello.Name+", expected "+p.info.Name)
			return
		}
		p.hello = *m.Hello
		c.checkUp(now, p)
		return
	case p.hello.Name == "":
		c.closePeer(now, p, "message before hello")
		return
	case m.LinkState != nil:
		c.receiveLinkState(now, p, *m.LinkState)
	case m.Room != nil:
		c.receiveRoom(now, p, *m.Room)
	case m.Subscribe != nil:
		c.receiveSubscribe(now, p, *m.Subscribe)
	case m.Bind != nil:
		c.receiveBind(now, p, *m.Bind)
	case m.Keyframe != nil:
		c.requestKeyframe(now, flowKey{m.Keyframe.Track, m.Keyframe.Layer})
	case m.Unavailable != nil:
		c.receiveUnavailable(now, p, *m.Unavailable)
	case m.Data != nil:
		c.receiveData(now, p, *m.Data)
	}
}

// flood sends a record to every up trunk but the one it came from.
func (c *Core) flood(from string, m message) {
	for _, p := range c.peers {
		if p.up && p.info.Name != from {
			c.sendControl(c.now, p, m)
		}
	}
}

func (c *Core) receiveLinkState(now time.Time, p *peer, ls LinkState) {
	if ls.Origin == c.cfg.Name {
		// Our own record, flooded back: if it is newer than ours (we
		// restarted and our counter fell behind), jump past it.
		if ls.Seq >= c.seq {
			c.seq = ls.Seq
			c.lsDirty = true
		}
		return
	}
	old, had := c.ls.get(ls.Origin)
	if !c.ls.update(now, ls) {
		return
	}
	c.flood(p.info.Name, message{LinkState: &ls})
	if !had || linksChanged(old, ls) {
		// A trunk came or went somewhere: plan again now rather than at the
		// next periodic re-plan, so a failure is routed around at once.
		c.subsDirty = true
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

func (c *Core) receiveRoom(now time.Time, p *peer, rs RoomState) {
	if rs.Origin == c.cfg.Name {
		// Our own record from an earlier life: supersede every record we
		// hold with fresh sequence numbers.
		if rs.Seq >= c.seq {
			c.seq = rs.Seq
			c.readvertise(now)
		}
		return
	}
	if !c.rooms.update(now, rs) {
		return
	}
	c.flood(p.info.Name, message{Room: &rs})
	if c.local != nil {
		c.local.RemoteChanged(rs.Room)
	}
	c.subsDirty = true
}

// SetRoom is the local side's input: this node's own participants of a
// room (none: the node left it). The Core numbers the record and floods
// it when it differs from the last one.
func (c *Core) SetRoom(now time.Time, room, mode string, parts []ParticipantState) {
	c.now = now
	rs := RoomState{Origin: c.cfg.Name, Room: room, Mode: mode, Participants: parts}
	if old, ok := c.rooms.get(c.cfg.Name, room); ok && sameRoom(&old, &rs) {
		return
	}
	if _, ok := c.rooms.get(c.cfg.Name, room); !ok && len(parts) == 0 {
		return // never announced: nothing to take back
	}
	c.advertise(now, rs)
}

func (c *Core) advertise(now time.Time, rs RoomState) {
	rs.Seq = c.nextSeq()
	c.rooms.update(now, rs)
	c.flood("", message{Room: &rs})
	c.subsDirty = true
}

// readvertise re-announces every room record of this node with a fresh
// sequence number (our counter fell behind records of a previous life).
func (c *Core) readvertise(now time.Time) {
	for _, rs := range c.rooms.byOrigin(c.cfg.Name) {
		c.advertise(now, rs)
	}
}

// RemoteParts returns the other nodes' live parts of a room, by origin.
func (c *Core) RemoteParts(room string) []RoomState {
	var out []RoomState
	for _, rs := range c.rooms.room(room) {
		if rs.Origin != c.cfg.Name {
			out = append(out, rs)
		}
	}
	return out
}

// originateLinkState floods this node's trunks and load.
func (c *Core) originateLinkState(now time.Time) {
	c.lsAt = now
	ls := LinkState{Origin: c.cfg.Name, Seq: c.nextSeq(), Region: c.cfg.Region, Role: string(c.cfg.Role),
		Load: c.load(), HTTP: c.http, Announce: c.announce}
	for _, p := range c.peers {
		lm := LinkMetric{Peer: p.info.Name, Up: p.up}
		if p.up {
			lm.RTTMicros = p.metrics.rtt.Microseconds()
			lm.Loss = min(max(p.metrics.loss, 0), 1)
			lm.Bandwidth = p.metrics.bandwidth
		}
		ls.Links = append(ls.Links, lm)
	}
	c.ls.update(now, ls)
	c.flood("", message{LinkState: &ls})
}

// load is the node's utilisation for the planner: forwarded track layers
// over the configured capacity.
func (c *Core) load() float64 {
	return min(float64(c.flows.downstreams())/float64(c.cfg.Capacity), 1)
}
