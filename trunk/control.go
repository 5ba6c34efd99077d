package trunk

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
)

// This file is the control protocol as the Core speaks it (PROTOCOL.md):
// sending and reading control frames, dispatching them, and flooding the
// link-state and room records.

func (c *Core) sendHello(p *peer) {
	h := Hello{Name: c.cfg.Name, Region: c.cfg.Region, Role: string(c.cfg.Role), Version: protocolVersion}
	if c.scoped() {
		h.Scope = scopeRooms
	}
	c.sendControl(c.now, p, message{Hello: &h})
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
	skip := func(frame []byte) bool { return c.staleCopy(p, frame) }
	err := p.readFrames(skip, func(m message, frame []byte) bool {
		if p.hello.Name != "" {
			c.rememberFrame(m, frame)
		}
		c.handleControl(now, p, m, frame)
		return p.conn == conn // the trunk is still the same one
	})
	if err != nil && p.conn == conn {
		c.log.Warn("control", "peer", p.info.Name, "err", err)
		c.closePeer(now, p, err.Error())
	}
}

// handleControl dispatches one control message from p.
func (c *Core) handleControl(now time.Time, p *peer, m message, frame []byte) {
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
		c.receiveLinkState(now, p, *m.LinkState, frame)
	case m.Room != nil:
		c.receiveRoom(now, p, *m.Room, frame)
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
	case m.RoomRequest != nil:
		c.receiveRoomRequest(now, p, *m.RoomRequest)
	case m.Command != nil:
		c.receiveCommand(now, p.info.Name, *m.Command)
	case m.Reply != nil:
		c.receiveReply(now, p.info.Name, *m.Reply)
	case m.Interest != nil:
		c.receiveInterest(now, p, *m.Interest)
	}
}

// flood sends a record to every up trunk but the one it came from (a
// room record batched: flood_batch.go). The record is encoded once for
// all of them.
func (c *Core) flood(from string, m message) {
	frame, err := appendFrame(nil, m)
	if err != nil {
		c.log.Error("control message", "err", err)
		return
	}
	if k := m.kind(); k == kindRoom {
		c.floodLater(from, k, frame, &roomKey{m.Room.Origin, m.Room.Room})
	} else {
		c.floodFrame(from, k, frame, nil)
	}
}

// floodFrame sends an encoded frame to every up trunk but from (a room
// record, rk, only to the peers it is told to: flood_scope.go).
func (c *Core) floodFrame(from string, kind int, frame []byte, rk *roomKey) {
	for _, p := range c.peers {
		if p.up && p.info.Name != from && (rk == nil || tells(p, rk.origin, rk.room)) {
			if err := p.sendFrame(kind, frame); err != nil {
				c.closePeer(c.now, p, err.Error())
			}
		}
	}
}

func (c *Core) receiveLinkState(now time.Time, p *peer, ls LinkState, frame []byte) {
	if ls.Origin == c.cfg.Name {
		// Our own record, flooded back: if it is newer than ours (we
		// restarted and our counter fell behind), jump past it. Our current
		// record coming back round a cycle of trunks is no news: taking it
		// as such (>=) re-originated it round every cycle, forever.
		if ls.Seq > c.seq {
			c.seq = ls.Seq
			c.lsDirty = true
		}
		return
	}
	old, had := c.ls.get(ls.Origin)
	if !c.ls.update(now, ls) {
		return
	}
	urgent := !had || linksChanged(old, ls)
	if urgent {
		c.floodFrame(p.info.Name, kindLinkState, frame, nil)
	} else {
		c.floodLater(p.info.Name, kindLinkState, frame, nil)
	}
	if !had {
		c.originBack(now, ls.Origin)
	}
	if urgent {
		// A trunk came or went somewhere: plan again now rather than at the
		// next periodic re-plan, so a failure is routed around at once.
		c.resync()
	}
}

// originBack takes in the room records of an origin that was forgotten
// and whose link state came back (roomdb.restore), and floods them on:
// the neighbours that forgot the origin too refused them as well.
func (c *Core) originBack(now time.Time, origin string) {
	for _, rs := range c.rooms.restore(now, origin) {
		c.flood("", message{Room: &rs})
		if c.local != nil && rs.live() {
			c.local.RemoteChanged(rs.Room)
		}
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

func (c *Core) receiveRoom(now time.Time, p *peer, rs RoomState, frame []byte) {
	if rs.Origin == c.cfg.Name {
		c.supersede(now, rs)
		return
	}
	whole := rs
	if rs.Base != 0 {
		held, ok := c.rooms.get(rs.Origin, rs.Room)
		switch {
		case ok && held.Seq >= rs.Seq:
			return // old news
		case !ok || held.Seq != rs.Base:
			// We missed a change (or never had the record): the sender
			// holds the whole record, having just applied the delta.
			c.stats.roomRequests++
			c.sendControl(now, p, message{RoomRequest: &RoomRequest{Origin: rs.Origin, Room: rs.Room}})
			return
		}
		whole = applyDelta(held, rs)
	}
	if !c.rooms.update(now, whole) {
		return
	}
	c.floodLater(p.info.Name, kindRoom, frame, &roomKey{rs.Origin, rs.Room})
	if c.local != nil {
		c.local.RemoteChanged(rs.Room)
	}
	c.subsDirty = true
}

// receiveRoomRequest answers a neighbour that missed a room change.
func (c *Core) receiveRoomRequest(now time.Time, p *peer, r RoomRequest) {
	if rs, ok := c.rooms.get(r.Origin, r.Room); ok {
		c.sendControl(now, p, message{Room: &rs})
	}
}

// supersede handles a record of this node that came back from the
// network. One newer than what we hold is from an earlier life (we
// restarted): our counter jumps past it, and our current part of the
// room, or a tombstone if we have none, replaces it everywhere, so a
// restarted node's old participants do not linger in other nodes' rooms.
func (c *Core) supersede(now time.Time, rs RoomState) {
	if rs.Seq > c.seq {
		c.seq = rs.Seq
	}
	held, ok := c.rooms.get(c.cfg.Name, rs.Room)
	if ok && held.Seq >= rs.Seq {
		return
	}
	if o := c.own[rs.Room]; o != nil && o.pending != nil {
		c.flushRoom(now, rs.Room, o)
		return
	}
	if !ok {
		held = RoomState{Origin: c.cfg.Name, Room: rs.Room, Mode: rs.Mode, Opts: c.cmd.held[rs.Room]}
	}
	c.advertise(now, held)
}

// applyDelta turns a whole record into the next one a delta describes.
func applyDelta(held, d RoomState) RoomState {
	out := RoomState{Origin: d.Origin, Seq: d.Seq, Room: d.Room, Mode: d.Mode, Opts: d.Opts}
	if byID(held.Participants) && byID(d.Participants) && slices.IsSorted(d.Gone) {
		// Records are kept sorted by ID, and deltas are made from them
		// (roomDelta): merge, rather than index and sort a live room's
		// thousand participants for every delta.
		out.Participants = mergeDelta(held.Participants, d.Participants, d.Gone)
	} else {
		out.Participants = sortDelta(held.Participants, d.Participants, d.Gone)
	}
	if len(out.Participants) > maxParticipants {
		out.Participants = out.Participants[:maxParticipants]
	}
	return out
}

// sortDelta is mergeDelta for records or deltas not sorted by ID.
func sortDelta(held, add []ParticipantState, goneIDs []string) []ParticipantState {
	gone := make(map[string]bool, len(goneIDs)+len(add))
	for _, id := range goneIDs {
		gone[id] = true
	}
	for _, p := range add {
		gone[p.ID] = true // replaced
	}
	out := make([]ParticipantState, 0, len(held)+len(add))
	for _, p := range held {
		if !gone[p.ID] {
			out = append(out, p)
		}
	}
	out = append(out, add...)
	slices.SortFunc(out, func(a, b ParticipantState) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// byID reports whether participants are sorted by ID, each ID once.
func byID(ps []ParticipantState) bool {
	for i := 1; i < len(ps); i++ {
		if ps[i-1].ID >= ps[i].ID {
			return false
		}
	}
	return true
}

// mergeDelta is held without the participants gone or replaced, with
// add, in ID order; held and add are sorted by ID (each ID once) and gone
// is sorted.
func mergeDelta(held, add []ParticipantState, gone []string) []ParticipantState {
	out := make([]ParticipantState, 0, len(held)+len(add))
	j, g := 0, 0
	for _, p := range held {
		for g < len(gone) && gone[g] < p.ID {
			g++
		}
		if g < len(gone) && gone[g] == p.ID {
			continue
		}
		for j < len(add) && add[j].ID < p.ID {
			out = append(out, add[j])
			j++
		}
		if j < len(add) && add[j].ID == p.ID {
			continue // replaced: add[j] goes in next
		}
		out = append(out, p)
	}
	return append(out, add[j:]...)
}

// roomDelta describes next as a change of prev, when that is much
// smaller than next whole.
func roomDelta(prev, next RoomState) (RoomState, bool) {
	if len(prev.Participants) == 0 || len(next.Participants) == 0 || prev.Mode != next.Mode ||
		!reflect.DeepEqual(prev.Opts, next.Opts) {
		return next, false
	}
	d := RoomState{Origin: next.Origin, Seq: next.Seq, Room: next.Room, Mode: next.Mode, Base: prev.Seq, Opts: next.Opts}
	old := map[string]int{}
	for i, p := range prev.Participants {
		old[p.ID] = i
	}
	for _, p := range next.Participants {
		i, ok := old[p.ID]
		if !ok || !sameParticipant(&prev.Participants[i], &p) {
			d.Participants = append(d.Participants, p)
		}
		delete(old, p.ID)
	}
	for id := range old {
		d.Gone = append(d.Gone, id)
	}
	slices.Sort(d.Gone)
	return d, 2*(len(d.Participants)+len(d.Gone)) < len(next.Participants)
}

// SetRoom is the local side's input: this node's own participants of a
// room (none: the node left it). The Core numbers the record and floods
// it when it differs from the last one, at most once per roomEvery per
// room: changes in between (a crowd joining a live room) are folded into
// one record sent when the interval ends.
func (c *Core) SetRoom(now time.Time, room, mode string, parts []ParticipantState) {
	c.now = now
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b ParticipantState) int { return strings.Compare(a.ID, b.ID) })
	rs := RoomState{Origin: c.cfg.Name, Room: room, Mode: mode, Participants: parts, Opts: c.cmd.held[room]}
	o := c.own[room]
	if o == nil {
		if !rs.live() {
			return // never announced: nothing to take back
		}
		o = &ownRoom{}
		c.own[room] = o
		c.declare(now, room, true)
	}
	last := o.pending
	if last == nil {
		if held, ok := c.rooms.get(c.cfg.Name, room); ok {
			last = &held
		}
	}
	if last != nil && sameRoom(last, &rs) {
		return
	}
	o.pending = &rs
	if now.Sub(o.sent) >= roomEvery {
		c.flushRoom(now, room, o)
		return
	}
	if due := o.sent.Add(roomEvery); c.roomAt.IsZero() || due.Before(c.roomAt) {
		c.roomAt = due
	}
}

// roomEvery is the shortest interval between two records of one room from
// one node.
const roomEvery = 250 * time.Millisecond

// ownRoom is what this node announced of a room, and what waits.
type ownRoom struct {
	sent    time.Time
	pending *RoomState
}

func (c *Core) flushRoom(now time.Time, room string, o *ownRoom) {
	rs := *o.pending
	o.pending, o.sent = nil, now
	c.advertise(now, rs)
	if !rs.live() {
		delete(c.own, room)
		c.declare(now, room, false)
	}
}

// flushRooms sends the records whose interval ended, and returns when the
// next one is due (zero: none waits).
func (c *Core) flushRooms(now time.Time) time.Time {
	var next time.Time
	for _, room := range sortedKeys(c.own) {
		o := c.own[room]
		if o.pending == nil {
			continue
		}
		due := o.sent.Add(roomEvery)
		if !now.Before(due) {
			c.flushRoom(now, room, o)
			continue
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next
}

// advertise numbers, stores and floods a whole record of this node's
// part of a room; what crosses the trunks is a delta when that is smaller.
func (c *Core) advertise(now time.Time, rs RoomState) {
	prev, had := c.rooms.get(c.cfg.Name, rs.Room)
	rs.Seq = c.nextSeq()
	slices.SortFunc(rs.Participants, func(a, b ParticipantState) int { return strings.Compare(a.ID, b.ID) })
	c.rooms.update(now, rs)
	msg := rs
	if had {
		if d, ok := roomDelta(prev, rs); ok {
			msg = d
		}
	}
	c.flood("", message{Room: &msg})
	c.subsDirty = true
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

// linkState describes this node's trunks and load now (without a
// sequence number).
func (c *Core) linkState() LinkState {
	ls := LinkState{Origin: c.cfg.Name, Region: c.cfg.Region, Role: string(c.cfg.Role), Load: c.load(), HTTP: c.http,
		Announce: c.announce}
	for _, p := range c.peers {
		lm := LinkMetric{Peer: p.info.Name, Up: p.up}
		if p.up {
			lm.RTTMicros = p.metrics.rtt.Microseconds()
			lm.Loss = min(max(p.metrics.loss, 0), 1)
			lm.Bandwidth = p.metrics.bandwidth
		}
		ls.Links = append(ls.Links, lm)
	}
	return ls
}

// originateLinkState floods this node's trunks and load.
func (c *Core) originateLinkState(now time.Time) {
	ls := c.linkState()
	ls.Seq = c.nextSeq()
	c.lsSent, c.lsLast = now, ls
	c.ls.update(now, ls)
	c.flood("", message{LinkState: &ls})
}

// announceChanged reports whether a scheduler would see a difference: any
// change but of the user count, which counts from a twentieth of the
// capacity (at least 10 users; schedulers count their own recent
// placements meanwhile).
func announceChanged(a, b Announce) bool {
	d := a.Users - b.Users
	if d < 0 {
		d = -d
	}
	a.Users, b.Users = 0, 0
	return a != b || d >= max(10, a.UserCap/20)
}

// significant reports whether the planner would see a difference between
// two link states of this node: a trunk up or down, a round trip changed
// by a tenth and 5 ms, loss by 0.03, load by 0.1 (its cost model and
// hysteresis ignore less). The bandwidth estimate is not used for routes:
// it goes out with the periodic refresh.
func significant(a, b LinkState) bool {
	if a.Region != b.Region || a.Role != b.Role || a.HTTP != b.HTTP || len(a.Links) != len(b.Links) ||
		math.Abs(a.Load-b.Load) >= 0.1 || announceChanged(a.Announce, b.Announce) {
		return true
	}
	for i, x := range a.Links {
		y := b.Links[i]
		if x.Peer != y.Peer || x.Up != y.Up {
			return true
		}
		d := x.RTTMicros - y.RTTMicros
		if d < 0 {
			d = -d
		}
		if x.Up && (d >= max(5000, x.RTTMicros/10) || math.Abs(x.Loss-y.Loss) >= 0.03) {
			return true
		}
	}
	return false
}

// load is the node's utilisation for the planner: forwarded track layers
// over the configured capacity.
func (c *Core) load() float64 {
	return min(float64(c.flows.downstreams())/float64(c.cfg.Capacity), 1)
}
