package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/trunk"
)

// User is a synthetic participant placed on an access node.
type User struct {
	ID   string
	Room string
	// Mode is the room's mode, "meeting" or "live".
	Mode string
	// Publish are the tracks the user sends.
	Publish []TrackSpec
	// Watch makes the user a viewer of every other participant's tracks.
	Watch bool
	// Layer is the video layer the user prefers (0 small; -1 or beyond
	// the track's layers: the largest).
	Layer int
}

// local is a simulated access node's trunk.Local: its users, the tracks
// they publish, and the remote tracks its viewers watch. The Core calls it
// while the simulator drives the Core; it changes the Core's inputs only
// from the media clock (tick), never from inside those calls.
type local struct {
	node  *Node
	core  *trunk.Core
	rooms map[string]*lroom
	pubs  []*pubTrack // by track, for a fixed emission order
	// slots are the layers of pubs in emission order, with when each is
	// next due: the media clock scans this small array every tick rather
	// than every layer's (large, scattered) state. Rebuilt when pubs
	// change (slotsStale).
	slots      []emitSlot
	slotsStale bool
	own        map[trunk.TrackRef]*pubTrack
	watch      map[trunk.TrackRef]*watched
	dirty      map[string]bool // rooms whose remote parts changed
	// changed holds the rooms whose users changed (lroom.changed set).
	changed map[string]bool
	// nusers counts the users here.
	nusers int
}

type lroom struct {
	name, mode string
	users      map[string]*User
	ids        []string // the users' IDs, sorted
	changed    bool     // users changed since the last SetRoom
	// partsBuf is reused by parts (the Core copies what SetRoom is given).
	partsBuf []trunk.ParticipantState
}

// watched is a remote track local viewers watch: the layers wanted.
type watched struct {
	ref   trunk.TrackRef
	kind  string
	mask  uint32
	since time.Time
}

func newLocal(nd *Node) *local {
	return &local{node: nd, rooms: map[string]*lroom{}, own: map[trunk.TrackRef]*pubTrack{},
		watch: map[trunk.TrackRef]*watched{}, dirty: map[string]bool{}, changed: map[string]bool{}}
}

// join places a user here.
func (l *local) join(u User) error {
	r := l.rooms[u.Room]
	if r == nil {
		r = &lroom{name: u.Room, mode: u.Mode, users: map[string]*User{}}
		l.rooms[u.Room] = r
	}
	if r.users[u.ID] != nil {
		return fmt.Errorf("sim: user %s already in room %s on %s", u.ID, u.Room, l.node.Spec.Name)
	}
	uc := u
	uc.Publish = slices.Clone(u.Publish)
	r.users[u.ID] = &uc
	i, _ := slices.BinarySearch(r.ids, u.ID)
	r.ids = slices.Insert(r.ids, i, u.ID)
	l.nusers++
	r.changed = true
	l.changed[u.Room] = true
	l.dirty[u.Room] = true
	for i, ts := range u.Publish {
		ts = ts.withDefaults()
		if ts.ID == "" {
			ts.ID = fmt.Sprintf("%s%d", ts.Kind, i)
		}
		ts.ID = u.ID + "-" + ts.ID // unique in the room
		uc.Publish[i] = ts
		ref := trunk.TrackRef{Origin: l.node.Spec.Name, Room: u.Room, ID: ts.ID}
		pt := &pubTrack{ref: ref, spec: ts}
		for k := range ts.Bitrates {
			pt.layers = append(pt.layers, &pubLayer{ssrc: l.node.net.ssrc(ref, k)})
		}
		l.own[ref] = pt
		l.pubs = append(l.pubs, pt)
		l.slotsStale = true
	}
	slices.SortFunc(l.pubs, func(a, b *pubTrack) int { return strings.Compare(a.ref.String(), b.ref.String()) })
	return nil
}

// leave removes a user; it reports whether the user was here.
func (l *local) leave(room, id string) bool {
	r := l.rooms[room]
	if r == nil || r.users[id] == nil {
		return false
	}
	u := r.users[id]
	delete(r.users, id)
	if i, ok := slices.BinarySearch(r.ids, id); ok {
		r.ids = slices.Delete(r.ids, i, i+1)
	}
	l.nusers--
	r.changed = true
	l.changed[room] = true
	l.dirty[room] = true
	for _, ts := range u.Publish {
		ref := trunk.TrackRef{Origin: l.node.Spec.Name, Room: room, ID: ts.ID}
		delete(l.own, ref)
		l.pubs = slices.DeleteFunc(l.pubs, func(p *pubTrack) bool { return p.ref == ref })
		l.slotsStale = true
	}
	return true
}

// users returns the users on this node, by room and ID.
func (l *local) users() []User {
	var out []User
	for _, name := range sortedKeys(l.rooms) {
		r := l.rooms[name]
		for _, id := range r.ids {
			out = append(out, *r.users[id])
		}
	}
	return out
}

// tick emits due frames and hands the users' changes to the Core.
func (l *local) tick(now time.Time) {
	for _, name := range sortedKeys(l.changed) {
		delete(l.changed, name)
		r := l.rooms[name]
		if r != nil && r.changed {
			r.changed = false
			l.core.SetRoom(now, r.name, r.mode, r.parts())
			if len(r.users) == 0 {
				delete(l.rooms, name)
			}
		}
	}
	for _, name := range sortedKeys(l.dirty) {
		l.reconcile(now, name)
		delete(l.dirty, name)
	}
	if l.slotsStale {
		l.rebuildSlots()
	}
	at := now.UnixNano()
	for i := range l.slots {
		sl := &l.slots[i]
		if sl.due > at {
			continue
		}
		pt, layer := sl.pt, sl.layer
		pl := pt.layers[layer]
		pl.emit(now, pt.spec, pt.spec.Bitrates[layer], func(b []byte) {
			l.node.net.M.sent(l.node, pt.ref, layer, b)
			l.core.LocalRTP(now, pt.ref, layer, b)
		})
		sl.due = pl.dueAt()
	}
}

// emitSlot is one published layer on the media clock: due is when it
// next has a frame to send (UnixNano; math.MaxInt64 while it is off).
type emitSlot struct {
	due   int64
	pt    *pubTrack
	layer int
}

// rebuildSlots lays out the slots of l.pubs, in emission order.
func (l *local) rebuildSlots() {
	l.slots = l.slots[:0]
	for _, pt := range l.pubs {
		for i, pl := range pt.layers {
			pl.slot = len(l.slots)
			l.slots = append(l.slots, emitSlot{due: pl.dueAt(), pt: pt, layer: i})
		}
	}
	l.slotsStale = false
}

// retime refreshes a layer's slot after it was started or stopped.
func (l *local) retime(pl *pubLayer) {
	if !l.slotsStale && pl.slot < len(l.slots) && l.slots[pl.slot].pt.layers[l.slots[pl.slot].layer] == pl {
		l.slots[pl.slot].due = pl.dueAt()
	}
}

// parts is the room's record: every user here, with the tracks it sends.
// It is valid until the next call.
func (r *lroom) parts() []trunk.ParticipantState {
	out := r.partsBuf[:0]
	for _, id := range r.ids {
		u := r.users[id]
		ps := trunk.ParticipantState{ID: u.ID, Name: u.ID}
		for _, ts := range u.Publish {
			st := trunk.TrackState{ID: ts.ID, Kind: ts.Kind, ClockRate: 90000, Mime: "video/VP8", Layers: ts.layerNames()}
			if ts.Kind == "audio" {
				st.ClockRate, st.Mime, st.Channels = 48000, "audio/opus", 2
			}
			ps.Tracks = append(ps.Tracks, st)
		}
		out = append(out, ps)
		if len(out) == 1000 {
			break // the protocol's limit per record
		}
	}
	r.partsBuf = out
	if len(out) == 0 {
		return nil // a record without participants says null
	}
	return out
}

// reconcile brings the layers wanted of a room's remote tracks in line
// with the local viewers and the other nodes' parts.
func (l *local) reconcile(now time.Time, room string) {
	want := map[trunk.TrackRef]*watched{}
	r := l.rooms[room]
	if r != nil {
		for _, rs := range l.core.RemoteParts(room) {
			for _, ps := range rs.Participants {
				if len(ps.Tracks) == 0 || r.users[ps.ID] != nil {
					continue // the same identity here: the local one wins
				}
				for _, ts := range ps.Tracks {
					ref := trunk.TrackRef{Origin: rs.Origin, Room: room, ID: ts.ID}
					if m := r.mask(ts); m != 0 {
						want[ref] = &watched{ref: ref, kind: ts.Kind, mask: m}
					}
				}
			}
		}
	}
	var mine []trunk.TrackRef
	for ref := range l.watch {
		if ref.Room == room {
			mine = append(mine, ref)
		}
	}
	for _, ref := range sortRefs(mine) {
		w := l.watch[ref]
		if nw := want[ref]; nw == nil || nw.mask != w.mask {
			for k := range 8 {
				if w.mask&(1<<k) != 0 && (nw == nil || nw.mask&(1<<k) == 0) {
					l.node.net.M.unwatch(l.node, ref, k, now)
				}
			}
			if nw == nil {
				delete(l.watch, ref)
				l.core.Want(now, ref, 0)
			}
		}
	}
	for _, ref := range sortedRefs(want) {
		nw := want[ref]
		old := l.watch[ref]
		if old != nil && old.mask == nw.mask {
			continue
		}
		for k := range 8 {
			if nw.mask&(1<<k) != 0 && (old == nil || old.mask&(1<<k) == 0) {
				l.node.net.M.watch(l.node, ref, k, nw.kind, now)
			}
		}
		nw.since = now
		l.watch[ref] = nw
		l.core.Want(now, ref, nw.mask)
	}
}

// mask is the layers of a remote track the room's viewers here watch.
func (r *lroom) mask(ts trunk.TrackState) uint32 {
	n := max(len(ts.Layers), 1)
	var m uint32
	for _, u := range r.users { // any order: the bits are or-ed
		if !u.Watch {
			continue
		}
		layer := u.Layer
		if ts.Kind == "audio" || layer < 0 || layer >= n {
			layer = n - 1
			if ts.Kind == "audio" {
				layer = 0
			}
		}
		m |= 1 << layer
	}
	return m
}

// viewers counts the users here that watch.
func (l *local) viewers() int {
	n := 0
	for _, r := range l.rooms {
		for _, u := range r.users {
			if u.Watch {
				n++
			}
		}
	}
	return n
}

// Deliver is the Core's call: a packet for the viewers here.
func (l *local) Deliver(now time.Time, ref trunk.TrackRef, layer int, b []byte) {
	l.node.net.M.delivered(l.node, ref, layer, b, now)
	if f := l.node.net.OnDeliver; f != nil {
		f(l.node.Spec.Name, ref, layer, b)
	}
}

// StartLayer is the Core's call: start sending a local layer.
func (l *local) StartLayer(ref trunk.TrackRef, layer int) bool {
	pt := l.own[ref]
	if pt == nil || layer < 0 || layer >= len(pt.layers) {
		return false
	}
	pt.layers[layer].on = true
	l.retime(pt.layers[layer])
	return true
}

// StopLayer is the Core's call: stop sending a local layer.
func (l *local) StopLayer(ref trunk.TrackRef, layer int) {
	if pt := l.own[ref]; pt != nil && layer >= 0 && layer < len(pt.layers) {
		pt.layers[layer].on = false
		l.retime(pt.layers[layer])
	}
}

// RequestKeyframe is the Core's call: the next frame of the layer is a key
// frame (at most one per keyframeInterval).
func (l *local) RequestKeyframe(ref trunk.TrackRef, layer int) {
	pt := l.own[ref]
	if pt == nil || layer < 0 || layer >= len(pt.layers) {
		return
	}
	pl := pt.layers[layer]
	now := l.node.net.sim.Now()
	if now.Sub(pl.keyAt) >= keyframeInterval {
		pl.key, pl.keyAt = true, now
		l.node.net.M.keyframes++
	}
}

// RemoteChanged is the Core's call: reconcile the room at the next tick.
func (l *local) RemoteChanged(room string) {
	if l.rooms[room] != nil {
		l.dirty[room] = true
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedRefs[V any](m map[trunk.TrackRef]V) []trunk.TrackRef {
	out := make([]trunk.TrackRef, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortRefs(out)
}

// sortRefs sorts refs by their String form (each formed once).
func sortRefs(refs []trunk.TrackRef) []trunk.TrackRef {
	type keyed struct {
		s   string
		ref trunk.TrackRef
	}
	ks := make([]keyed, len(refs))
	for i, r := range refs {
		ks[i] = keyed{r.String(), r}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.s, b.s) })
	for i := range ks {
		refs[i] = ks[i].ref
	}
	return refs
}
