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
	// byRoom indexes records by room, origin; expireAt is when the
	// tombstone sweep next runs.
	byRoom   map[string]map[string]*roomEntry
	expireAt time.Time
	// gone remembers the last sequence number of forgotten origins (see
	// lsdb.gone).
	gone map[string]goneOrigin
	// parked holds, per origin and room, the newest record refused only
	// because its origin was forgotten: the origin's current record when
	// the origin is alive and merely was cut off. It is taken in by
	// restore once the origin's link state comes back, and dropped with
	// the origin's gone entry otherwise.
	parked map[roomKey]RoomState
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

func newRoomDB() *roomdb {
	return &roomdb{records: map[roomKey]*roomEntry{}, byRoom: map[string]map[string]*roomEntry{},
		gone: map[string]goneOrigin{}, parked: map[roomKey]RoomState{}}
}

// update stores rs if newer and reports whether it was.
func (d *roomdb) update(now time.Time, rs RoomState) bool {
	k := roomKey{rs.Origin, rs.Room}
	e, ok := d.records[k]
	if ok && rs.Seq <= e.rs.Seq {
		return false
	}
	if !ok && len(d.records)+len(d.parked) >= maxRoomRecords {
		return false
	}
	if g, forgotten := d.gone[rs.Origin]; forgotten {
		if rs.Seq <= g.seq {
			if p, held := d.parked[k]; !held || p.Seq < rs.Seq {
				d.parked[k] = rs
			}
			return false
		}
		d.forgive(rs.Origin)
	}
	delete(d.parked, k)
	e = &roomEntry{rs: rs, at: now}
	d.records[k] = e
	r := d.byRoom[rs.Room]
	if r == nil {
		r = map[string]*roomEntry{}
		d.byRoom[rs.Room] = r
	}
	r[rs.Origin] = e
	return true
}

func (d *roomdb) remove(k roomKey) {
	delete(d.records, k)
	if r := d.byRoom[k.room]; r != nil {
		delete(r, k.origin)
		if len(r) == 0 {
			delete(d.byRoom, k.room)
		}
	}
}

// forgive forgets that an origin was forgotten: it is alive (a record it
// originated after it was forgotten arrived). Its parked records are
// dropped; restore takes them in instead.
func (d *roomdb) forgive(origin string) {
	delete(d.gone, origin)
	for k := range d.parked {
		if k.origin == origin {
			delete(d.parked, k)
		}
	}
}

// restore is called when a forgotten origin's link state came back (a
// record newer than any it had sent before it was forgotten): the origin
// lives, so the records it holds unchanged since then are current again.
// Without this, an origin whose rooms did not change while it was cut
// off stayed out of them everywhere that had forgotten it: its records
// came back with the sequence numbers they had, which the gone memory
// refuses, and nothing made the origin number them anew. It returns the
// records taken in, for the caller to flood on.
func (d *roomdb) restore(now time.Time, origin string) []RoomState {
	if _, forgotten := d.gone[origin]; !forgotten {
		return nil
	}
	var back []RoomState
	for k, rs := range d.parked {
		if k.origin == origin {
			back = append(back, rs)
		}
	}
	d.forgive(origin)
	sort.Slice(back, func(i, j int) bool { return back[i].Room < back[j].Room })
	out := back[:0]
	for _, rs := range back {
		if d.update(now, rs) {
			out = append(out, rs)
		}
	}
	return out
}

// dropOrigin forgets a node's records and returns the rooms they were in.
// Records of it no newer than seq (or than the records dropped) are
// refused for goneMemory.
func (d *roomdb) dropOrigin(now time.Time, origin string, seq uint64) []string {
	var rooms []string
	for k, e := range d.records {
		if k.origin == origin {
			seq = max(seq, e.rs.Seq)
			d.remove(k)
			if e.rs.live() {
				rooms = append(rooms, k.room)
			}
		}
	}
	sort.Strings(rooms)
	d.gone[origin] = goneOrigin{seq: seq, at: now}
	return rooms
}

// expire drops tombstones older than tombstoneTTL (swept once a minute:
// they only need to outlive late copies).
func (d *roomdb) expire(now time.Time) {
	if now.Before(d.expireAt) {
		return
	}
	d.expireAt = now.Add(time.Minute)
	for o, g := range d.gone {
		if now.Sub(g.at) > goneMemory {
			d.forgive(o)
		}
	}
	for k, e := range d.records {
		if !e.rs.live() && now.Sub(e.at) > tombstoneTTL {
			d.remove(k)
		}
	}
}

// room returns the live records of a room, by origin.
func (d *roomdb) room(name string) []RoomState {
	var out []RoomState
	for _, e := range d.byRoom[name] {
		if e.rs.live() {
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

// sameRoom reports whether two records say the same, sequence aside.
func sameRoom(a, b *RoomState) bool {
	x, y := *a, *b
	x.Seq, y.Seq = 0, 0
	if len(x.Participants) == 0 && len(y.Participants) == 0 {
		return x.Mode == y.Mode && reflect.DeepEqual(x.Opts, y.Opts)
	}
	// What reflect.DeepEqual would say, without reflecting over a large
	// room's roster when a cheap difference decides it.
	if len(x.Participants) != len(y.Participants) {
		return false
	}
	for i := range x.Participants {
		if !sameParticipant(&x.Participants[i], &y.Participants[i]) {
			return false
		}
	}
	x.Participants, y.Participants = nil, nil
	return reflect.DeepEqual(x, y)
}

// sameParticipant is reflect.DeepEqual(*a, *b), reflecting only over
// participants with tracks.
func sameParticipant(a, b *ParticipantState) bool {
	if a.ID != b.ID || a.Name != b.Name || a.Since != b.Since || len(a.Tracks) != len(b.Tracks) {
		return false
	}
	if len(a.Tracks) == 0 {
		return (a.Tracks == nil) == (b.Tracks == nil)
	}
	return reflect.DeepEqual(*a, *b)
}
