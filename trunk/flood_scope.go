package trunk

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// Scoped room flooding (PROTOCOL.md, "Scoped room flooding"). Every room
// record used to reach every node; an access node needs only the records
// of the rooms it hosts (to mirror their remote participants), and a
// forwarding node carries tracks by what their subscriptions say
// (flood_order.go). An access node with Config.ScopedRooms says
// "scope": "rooms" in its hello and declares the rooms it hosts with
// Interest; its neighbours then send it only the records of those rooms,
// and the records it originated itself (so that a restarted node still
// supersedes the records of its earlier life). Forwarding nodes stay full:
// they hold every room, for /api/rooms, the join placer, and to answer a
// new interest with the room's records at once.

// scopeRooms is Hello.Scope of a node that wants only its rooms' records.
const scopeRooms = "rooms"

// Interest declares (On) or withdraws the rooms whose records the sender
// wants.
type Interest struct {
	Rooms []string `json:"rooms"`
	On    bool     `json:"on"`
}

// Bounds: rooms per Interest message, and rooms one peer may declare.
const (
	maxInterestRooms = 1024
	maxInterests     = maxRoomRecords
)

func (in *Interest) validate() error {
	if len(in.Rooms) > maxInterestRooms {
		return errors.New("interest: too many rooms")
	}
	return checkNames(in.Rooms...)
}

// scoped reports whether this node asks for its rooms' records only.
func (c *Core) scoped() bool { return c.cfg.ScopedRooms && c.cfg.Role == route.Access }

// tells reports whether a record of room from origin goes to p.
func tells(p *peer, origin, room string) bool {
	return p.hello.Scope != scopeRooms || origin == p.info.Name || p.interest[room]
}

// receiveInterest takes a peer's declared rooms; a room newly declared is
// answered with every record of it held here (tombstones included).
func (c *Core) receiveInterest(now time.Time, p *peer, in Interest) {
	for _, room := range in.Rooms {
		if !in.On {
			delete(p.interest, room)
			continue
		}
		if p.interest[room] || len(p.interest) >= maxInterests {
			continue
		}
		p.interest[room] = true
		if !p.up {
			continue // the full exchange at checkUp sends them
		}
		for _, rs := range c.rooms.ofRoom(room) {
			if rs.Origin != p.info.Name {
				c.sendControl(now, p, message{Room: &rs})
			}
		}
	}
}

// declare tells every up peer that understands scoping that this node
// hosts a room now (on) or no longer.
func (c *Core) declare(now time.Time, room string, on bool) {
	if !c.scoped() {
		return
	}
	for _, p := range c.peers {
		if p.up && p.hello.Version >= 4 {
			c.sendControl(now, p, message{Interest: &Interest{Rooms: []string{room}, On: on}})
		}
	}
	if !on {
		c.rooms.dropRoom(room, c.cfg.Name)
	}
}

// declareAll sends a peer that just came up every room this node hosts.
func (c *Core) declareAll(now time.Time, p *peer) {
	if !c.scoped() || p.hello.Version < 4 {
		return
	}
	rooms := sortedKeys(c.own)
	for len(rooms) > 0 {
		n := min(len(rooms), maxInterestRooms)
		c.sendControl(now, p, message{Interest: &Interest{Rooms: slices.Clone(rooms[:n]), On: true}})
		rooms = rooms[n:]
	}
}

// ofRoom returns every record of a room, tombstones included, by origin.
func (d *roomdb) ofRoom(room string) []RoomState {
	var out []RoomState
	for _, e := range d.byRoom[room] {
		out = append(out, e.rs)
	}
	slices.SortFunc(out, func(a, b RoomState) int { return strings.Compare(a.Origin, b.Origin) })
	return out
}

// dropRoom forgets the other nodes' records of a room (a scoped node that
// no longer hosts it); self's own record stays.
func (d *roomdb) dropRoom(room, self string) {
	for origin := range d.byRoom[room] {
		if origin != self {
			d.remove(roomKey{origin, room})
		}
	}
}
