package trunk

import (
	"reflect"
	"sort"
	"time"
)

// roomdb holds every node's part of every room (RoomState records),
// flooded like link state. Records of a node are dropped when its link
// state expires; a tombstone (a record without participants) is kept for
// tombstoneTTL so that a late copy of an older record cannot bring a room
// back to life.
type roomdb struct {
	records map[roomKey]*roomEntry
}

type roomKey struct{ origin, room string }

type roomEntry struct {
	rs RoomState
	at time.Time
}

const tombstoneTTL = 10 * time.Minute

// maxRoomRecords bounds the room database (records of all nodes, tombstones
// included).
const maxRoomRecords = 100_000

func newRoomDB() *roomdb { return &roomdb{records: map[roomKey]*roomEntry{}} }

// update stores rs if newer and reports whether it was.
func (d *roomdb) update(now time.Time, rs RoomState) bool {
	k := roomKey{rs.Origin, rs.Room}
	e, ok := d.records[k]
	if ok && rs.Seq <= e.rs.Seq {
		return false
	}
	if !ok && len(d.records) >= maxRoomRecords {
		return false
	}
	d.records[k] = &roomEntry{rs: rs, at: now}
	return true
}

// dropOrigin forgets a node's records and returns the rooms they were in.
func (d *roomdb) dropOrigin(origin string) []string {
	var rooms []string
	for k, e := range d.records {
		if k.origin == origin {
			delete(d.records, k)
			if len(e.rs.Participants) > 0 {
				rooms = append(rooms, k.room)
			}
		}
	}
	sort.Strings(rooms)
	return rooms
}

// expire drops tombstones older than tombstoneTTL.
func (d *roomdb) expire(now time.Time) {
	for k, e := range d.records {
		if len(e.rs.Participants) == 0 && now.Sub(e.at) > tombstoneTTL {
			delete(d.records, k)
		}
	}
}

// room returns the live records of a room, by origin.
func (d *roomdb) room(name string) []RoomState {
	var out []RoomState
	for k, e := range d.records {
		if k.room == name && len(e.rs.Participants) > 0 {
			out = append(out, e.rs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

// all returns every record, tombstones included, for a full exchange with
// a peer that just connected.
func (d *roomdb) all() []RoomState {
	out := make([]RoomState, 0, len(d.records))
	for _, e := range d.records {
		out = append(out, e.rs)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Room != out[j].Room {
			return out[i].Room < out[j].Room
		}
		return out[i].Origin < out[j].Origin
	})
	return out
}

// track finds a track's announcement and its room's mode.
func (d *roomdb) track(ref TrackRef) (TrackState, string, bool) {
	e, ok := d.records[roomKey{ref.Origin, ref.Room}]
	if !ok {
		return TrackState{}, "", false
	}
	for _, p := range e.rs.Participants {
		for _, t := range p.Tracks {
			if t.ID == ref.ID {
				return t, e.rs.Mode, true
			}
		}
	}
	return TrackState{}, e.rs.Mode, false
}

// get returns one node's record of a room.
func (d *roomdb) get(origin, room string) (RoomState, bool) {
	e, ok := d.records[roomKey{origin, room}]
	if !ok {
		return RoomState{}, false
	}
	return e.rs, true
}

// byOrigin returns one node's records, tombstones included, by room.
func (d *roomdb) byOrigin(origin string) []RoomState {
	var out []RoomState
	for k, e := range d.records {
		if k.origin == origin {
			out = append(out, e.rs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Room < out[j].Room })
	return out
}

// sameRoom reports whether two records say the same, sequence aside.
func sameRoom(a, b *RoomState) bool {
	x, y := *a, *b
	x.Seq, y.Seq = 0, 0
	if len(x.Participants) == 0 && len(y.Participants) == 0 {
		return x.Mode == y.Mode
	}
	return reflect.DeepEqual(x, y)
}
