package trunk

import (
	"reflect"
	"sort"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
)

// accessSide is where the trunk meets the SFU of an access node. It
// announces the node's own participants and tracks (RoomState), mirrors
// other nodes' participants into local rooms as remote participants whose
// tracks are fed by the trunk, and takes local tracks out through sinks.
// It runs on the trunk's loop; SFU callbacks reach it through the call
// queue.
type accessSide struct {
	t      *Trunk
	sfu    *sfu.SFU
	feeds  feeds // delivery goroutines of mirrored tracks
	rooms  map[string]*localRoom
	own    map[TrackRef]*sfu.Receiver // tracks published on this node
	mirror map[TrackRef]*ghostTrack   // remote tracks mirrored here
	fullAt time.Time
}

type localRoom struct {
	name       string
	room       *sfu.Room
	cancel     func()
	dirty      atomic.Bool
	advertised *RoomState
	ghosts     map[string]*ghost // by participant ID
}

// ghost is a remote participant mirrored into a local room.
type ghost struct {
	origin string
	p      *sfu.Participant
	tracks map[string]*ghostTrack
	muted  map[string]bool // by kind
}

// ghostTrack is a remote track published locally; the trunk is its
// Upstream.
type ghostTrack struct {
	ref    TrackRef
	state  TrackState
	recv   *sfu.Receiver
	feed   *feed
	wanted uint32 // layers the local receiver wants (dynacast)
	gone   bool
}

// drop marks a mirrored track gone and stops its delivery.
func (gt *ghostTrack) drop() {
	gt.gone = true
	if gt.feed != nil {
		gt.feed.stop()
		gt.feed = nil
	}
}

// fullRefresh: rooms are re-read this often even without events, so that
// nothing an event missed stays wrong for long.
const fullRefresh = time.Second

func newAccessSide(t *Trunk, s *sfu.SFU) *accessSide {
	a := &accessSide{t: t, sfu: s, rooms: map[string]*localRoom{}, own: map[TrackRef]*sfu.Receiver{},
		mirror: map[TrackRef]*ghostTrack{}}
	a.feeds.bad, a.feeds.drops = &t.stats.badMedia, &t.stats.deliverDrops
	return a
}

// housekeep finds rooms that opened or closed and refreshes changed ones.
func (a *accessSide) housekeep(now time.Time) {
	full := now.Sub(a.fullAt) >= fullRefresh
	if full {
		a.fullAt = now
	}
	open := map[string]bool{}
	for _, r := range a.sfu.Rooms() {
		open[r.Name()] = true
		lr := a.rooms[r.Name()]
		if lr != nil && lr.room != r {
			a.closeRoom(now, lr) // the room closed and reopened between looks
			lr = nil
		}
		if lr == nil {
			lr = &localRoom{name: r.Name(), room: r, ghosts: map[string]*ghost{}}
			cancelEvents := r.Watch(func(sfu.Event) { a.touch(lr) })
			cancelData := a.watchData(lr)
			lr.cancel = func() { cancelEvents(); cancelData() }
			a.rooms[r.Name()] = lr
			lr.dirty.Store(true)
		}
		if full || lr.dirty.Load() {
			lr.dirty.Store(false)
			a.refresh(now, lr)
		}
	}
	for name, lr := range a.rooms {
		if !open[name] {
			a.closeRoom(now, lr)
		}
	}
}

// touch is called by SFU goroutines when something happened in a room.
func (a *accessSide) touch(lr *localRoom) {
	if lr.dirty.CompareAndSwap(false, true) {
		a.t.calls.push(func(now time.Time) {
			if lr.dirty.Swap(false) && a.rooms[lr.name] == lr {
				a.refresh(now, lr)
			}
		})
	}
}

// closeRoom forgets a room that closed: its ghosts are gone with it, and
// other nodes are told we left it.
func (a *accessSide) closeRoom(now time.Time, lr *localRoom) {
	lr.cancel()
	for id, g := range lr.ghosts {
		a.dropGhost(lr, id, g)
	}
	for ref := range a.own {
		if ref.Room == lr.name {
			delete(a.own, ref)
		}
	}
	if lr.advertised != nil && len(lr.advertised.Participants) > 0 {
		a.advertise(now, &RoomState{Origin: a.t.cfg.Name, Room: lr.name, Mode: lr.room.Mode()})
	}
	delete(a.rooms, lr.name)
	a.t.subsDirty = true
}

// refresh re-reads one room: announces our part of it if it changed and
// brings the mirrored participants in line with the other nodes' parts.
func (a *accessSide) refresh(now time.Time, lr *localRoom) {
	rs := a.snapshot(lr)
	if lr.advertised == nil || !sameRoom(lr.advertised, rs) {
		a.advertise(now, rs)
		lr.advertised = rs
	}
	a.reconcileGhosts(lr, len(rs.Participants) > 0)
}

// snapshot describes the room's local participants (ghosts excluded) and
// records their tracks as this node's own.
func (a *accessSide) snapshot(lr *localRoom) *RoomState {
	rs := &RoomState{Origin: a.t.cfg.Name, Room: lr.name, Mode: lr.room.Mode()}
	for ref := range a.own {
		if ref.Room == lr.name {
			delete(a.own, ref)
		}
	}
	for _, p := range lr.room.Participants() {
		if g := lr.ghosts[p.ID()]; g != nil && g.p == p {
			continue
		}
		ps := ParticipantState{ID: p.ID(), Name: p.Name()}
		for _, r := range p.Tracks() {
			info, codec := r.Info(), r.Codec()
			ps.Tracks = append(ps.Tracks, TrackState{ID: r.ID(), Kind: info.Kind, Mime: codec.MimeType,
				ClockRate: codec.ClockRate, Channels: codec.Channels, Fmtp: codec.SDPFmtpLine,
				Layers: info.Layers, AudioLevelExt: r.AudioLevelExt(), Muted: info.Muted, Source: r.Source()})
			a.own[TrackRef{Origin: a.t.cfg.Name, Room: lr.name, ID: r.ID()}] = r
		}
		if len(ps.Tracks) > maxTracks {
			ps.Tracks = ps.Tracks[:maxTracks]
		}
		rs.Participants = append(rs.Participants, ps)
		if len(rs.Participants) == maxParticipants {
			break
		}
	}
	return rs
}

func sameRoom(a, b *RoomState) bool {
	x, y := *a, *b
	x.Seq, y.Seq = 0, 0
	return reflect.DeepEqual(x, y)
}

// advertise stores and floods a new version of our part of a room.
func (a *accessSide) advertise(now time.Time, rs *RoomState) {
	rs.Seq = a.t.nextSeq()
	a.t.rooms.update(now, *rs)
	a.t.flood("", message{Room: rs})
}

// readvertise re-announces every room with fresh sequence numbers (our
// counter fell behind records of a previous life of this node).
func (a *accessSide) readvertise() {
	for _, lr := range a.rooms {
		lr.advertised = nil
		lr.dirty.Store(true)
	}
}

// remoteChanged: another node's part of room changed.
func (a *accessSide) remoteChanged(room string) {
	if lr := a.rooms[room]; lr != nil {
		lr.dirty.Store(true)
	}
}

// reconcileGhosts mirrors the other nodes' participants while the room has
// local participants, and removes every mirror once it has none (so the
// room can close).
func (a *accessSide) reconcileGhosts(lr *localRoom, hasLocal bool) {
	want := map[string]ParticipantState{}
	origin := map[string]string{}
	if hasLocal {
		local := map[string]bool{}
		for _, p := range lr.room.Participants() {
			if g := lr.ghosts[p.ID()]; g == nil || g.p != p {
				local[p.ID()] = true
			}
		}
		for _, rs := range a.t.rooms.room(lr.name) {
			if rs.Origin == a.t.cfg.Name {
				continue
			}
			for _, ps := range rs.Participants {
				if _, dup := want[ps.ID]; dup || local[ps.ID] {
					continue // the same identity elsewhere: the first node wins
				}
				want[ps.ID], origin[ps.ID] = ps, rs.Origin
			}
		}
	}
	for id, g := range lr.ghosts {
		if _, ok := want[id]; !ok || origin[id] != g.origin {
			a.dropGhost(lr, id, g)
		}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g := lr.ghosts[id]
		if g == nil {
			p, err := a.sfu.Join(lr.name, lr.room.Mode(), sfu.ParticipantParams{ID: id, Name: want[id].Name,
				CanPublish: true, Remote: true})
			if err != nil {
				a.t.log.Warn("mirror participant", "room", lr.name, "participant", id, "err", err)
				continue
			}
			g = &ghost{origin: origin[id], p: p, tracks: map[string]*ghostTrack{}, muted: map[string]bool{}}
			lr.ghosts[id] = g
		}
		a.reconcileTracks(lr, g, want[id])
	}
}

func (a *accessSide) dropGhost(lr *localRoom, id string, g *ghost) {
	for _, gt := range g.tracks {
		gt.drop()
		delete(a.mirror, gt.ref)
	}
	g.p.Close()
	delete(lr.ghosts, id)
	a.t.subsDirty = true
}

// reconcileTracks publishes, replaces and unpublishes a ghost's tracks.
func (a *accessSide) reconcileTracks(lr *localRoom, g *ghost, ps ParticipantState) {
	want := map[string]TrackState{}
	for _, ts := range ps.Tracks {
		want[ts.ID] = ts
	}
	for id, gt := range g.tracks {
		ts, ok := want[id]
		if ok && sameTrack(gt.state, ts) {
			gt.state.Muted = ts.Muted
			continue
		}
		gt.drop()
		g.p.UnpublishTrack(gt.recv)
		delete(g.tracks, id)
		delete(a.mirror, gt.ref)
		a.t.subsDirty = true
	}
	for _, ts := range ps.Tracks {
		if g.tracks[ts.ID] != nil {
			continue
		}
		ref := TrackRef{Origin: g.origin, Room: lr.name, ID: ts.ID}
		gt := &ghostTrack{ref: ref, state: ts, wanted: allLayers(ts)}
		kind := webrtc.RTPCodecTypeVideo
		if ts.Kind == "audio" {
			kind = webrtc.RTPCodecTypeAudio
		}
		r, err := g.p.PublishTrack(sfu.TrackParams{ID: ts.ID, Kind: kind,
			Codec:  webrtc.RTPCodecCapability{MimeType: ts.Mime, ClockRate: ts.ClockRate, Channels: ts.Channels, SDPFmtpLine: ts.Fmtp},
			Layers: ts.Layers, AudioLevelExt: ts.AudioLevelExt, Upstream: &ghostUpstream{a: a, gt: gt}, Muted: ts.Muted,
			Source: ts.Source})
		if err != nil {
			a.t.log.Warn("mirror track", "track", ref, "err", err)
			continue
		}
		gt.recv = r
		gt.feed = a.feeds.start(r)
		g.tracks[ts.ID] = gt
		a.mirror[ref] = gt
		a.t.subsDirty = true
	}
	a.syncMutes(g)
}

// syncMutes mirrors the publisher's mute state, per kind as the SFU keeps it.
func (a *accessSide) syncMutes(g *ghost) {
	for _, kind := range []string{"audio", "video"} {
		muted, any := true, false
		for _, gt := range g.tracks {
			if gt.state.Kind == kind && gt.state.Source != "screen" && gt.state.Source != "screen_audio" {
				any = true
				muted = muted && gt.state.Muted
			}
		}
		muted = muted && any
		if g.muted[kind] != muted {
			g.muted[kind] = muted
			k := webrtc.RTPCodecTypeVideo
			if kind == "audio" {
				k = webrtc.RTPCodecTypeAudio
			}
			g.p.SetMuted(k, muted)
		}
	}
}

func sameTrack(a, b TrackState) bool {
	a.Muted, b.Muted = false, false
	return reflect.DeepEqual(a, b)
}

// allLayers: a new receiver starts with every layer wanted (the SFU's
// convention); dynacast narrows it within a few seconds.
func allLayers(ts TrackState) uint32 {
	n := max(len(ts.Layers), 1)
	return 1<<n - 1
}

// wants returns, per mirrored track, the layers the local SFU wants.
func (a *accessSide) wants() map[TrackRef]uint32 {
	out := map[TrackRef]uint32{}
	for ref, gt := range a.mirror {
		if gt.wanted != 0 {
			out[ref] = gt.wanted
		}
	}
	return out
}

// deliver feeds one packet from a trunk into the local mirror of its
// track, through the track's feed goroutine.
func (a *accessSide) deliver(now time.Time, k flowKey, b []byte) {
	gt := a.mirror[k.track]
	if gt == nil || gt.feed == nil {
		return
	}
	gt.feed.push(k.layer, b, now)
}

// requestKeyframe asks the local publisher of one of our tracks.
func (a *accessSide) requestKeyframe(k flowKey) {
	if r := a.own[k.track]; r != nil {
		r.RequestKeyframe(k.layer)
	}
}

// addSink starts taking a local layer out; nil if the track is unknown.
func (a *accessSide) addSink(k flowKey) func() {
	r := a.own[k.track]
	if r == nil {
		return nil
	}
	rm, err := r.AddSink(k.layer, &trunkSink{t: a.t, key: k})
	if err != nil {
		a.t.log.Warn("sink", "track", k.track, "layer", k.layer, "err", err)
		return nil
	}
	return rm
}

func (a *accessSide) close() {
	for _, lr := range a.rooms {
		lr.cancel()
		for id, g := range lr.ghosts {
			a.dropGhost(lr, id, g)
		}
	}
	a.rooms = map[string]*localRoom{}
	a.feeds.wait()
}

// ghostUpstream is the trunk as the Upstream of a mirrored track. Its
// methods run on SFU goroutines and only queue work for the loop.
type ghostUpstream struct {
	a  *accessSide
	gt *ghostTrack
}

func (u *ghostUpstream) RequestKeyframe(layer int) {
	u.a.t.calls.push(func(now time.Time) {
		if !u.gt.gone {
			u.a.t.requestKeyframe(now, flowKey{u.gt.ref, layer})
		}
	})
}

func (u *ghostUpstream) SetLayersWanted(wanted []bool) {
	var mask uint32
	for i, w := range wanted {
		if w && i < maxLayers {
			mask |= 1 << i
		}
	}
	u.a.t.calls.push(func(time.Time) {
		if !u.gt.gone && u.gt.wanted != mask {
			u.gt.wanted = mask
			u.a.t.subsDirty = true
		}
	})
}

// trunkSink carries a local layer's packets to the loop. It never blocks
// the receiver: when the loop is behind, packets are dropped and counted.
type trunkSink struct {
	t   *Trunk
	key flowKey
}

func (s *trunkSink) WriteRTP(_ int, raw []byte) {
	select {
	case s.t.media <- localPacket{key: s.key, data: append([]byte(nil), raw...)}:
	default:
		s.t.stats.sinkDrops.Add(1)
	}
}

func (s *trunkSink) TrackEnded() {
	s.t.calls.push(func(time.Time) { s.t.subsDirty = true })
}
