package trunk

import (
	"errors"
	"log/slog"
	"reflect"
	"sort"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
)

// accessSide is the SFU of an access node as the Core's Local side. It
// announces the node's own participants and tracks (Core.SetRoom),
// mirrors other nodes' participants into local rooms as remote
// participants whose tracks are fed by the trunk (Core.Want, Deliver),
// and takes local tracks out through sinks (StartLayer, Core.LocalRTP).
// It runs on the driver's loop, like the Core; SFU callbacks reach it
// through the driver's call queue and media channel.
type accessSide struct {
	core   *Core
	sfu    *sfu.SFU
	log    *slog.Logger
	calls  *callQueue
	media  chan<- localPacket
	bufs   *bufPool
	drops  *driverCounters
	feeds  feeds // delivery goroutines of mirrored tracks
	rooms  map[string]*localRoom
	own    map[TrackRef]*sfu.Receiver // tracks published on this node
	mirror map[TrackRef]*ghostTrack   // remote tracks mirrored here
	sinks  map[flowKey]func()         // local layers taken out, and how to stop
	fullAt time.Time
}

type localRoom struct {
	name   string
	room   *sfu.Room
	cancel func()
	dirty  atomic.Bool
	ghosts map[string]*ghost // by participant ID
	// newer: local participants whose identity has a newer session on
	// another node, and when that was first seen (move.go).
	newer map[string]time.Time
	// locals: the local participants at the last refresh; warmedAt: when
	// a probe last warmed the room (warm.go).
	locals   map[string]bool
	warmedAt time.Time
	// handing: mirrors replaced by a local session of their identity,
	// kept until its media takes over (handover.go).
	handing map[string]*handover
}

// ghost is a remote participant mirrored into a local room.
type ghost struct {
	origin string
	p      *sfu.Participant
	tracks map[string]*ghostTrack
	muted  map[string]bool // by kind
	// retiring: tracks of the origin the identity moved away from, kept
	// until the new origin's deliver (move.go); movedAt: when it moved.
	retiring []*ghostTrack
	movedAt  time.Time
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

func newAccessSide(s *sfu.SFU, log *slog.Logger, calls *callQueue, media chan<- localPacket, bufs *bufPool,
	drops *driverCounters) *accessSide {
	a := &accessSide{sfu: s, log: log, calls: calls, media: media, bufs: bufs, drops: drops,
		rooms: map[string]*localRoom{}, own: map[TrackRef]*sfu.Receiver{}, mirror: map[TrackRef]*ghostTrack{},
		sinks: map[flowKey]func(){}}
	a.feeds.bad, a.feeds.drops = &drops.badMedia, &drops.deliverDrops
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
			lr = &localRoom{name: r.Name(), room: r, ghosts: map[string]*ghost{}, newer: map[string]time.Time{}}
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
	for _, name := range sortedKeys(a.rooms) {
		if !open[name] {
			a.closeRoom(now, a.rooms[name])
		}
	}
	a.settleMoves(now)
}

// touch marks a room for refresh and queues the refresh on the loop. SFU
// goroutines call it when something happened in the room; the Core calls
// it (through RemoteChanged) when another node's part changed.
func (a *accessSide) touch(lr *localRoom) {
	if lr.dirty.CompareAndSwap(false, true) {
		a.calls.push(func(now time.Time) {
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
	for _, id := range sortedKeys(lr.ghosts) {
		a.dropGhost(now, lr, id, lr.ghosts[id])
	}
	a.endHandovers(now, lr)
	for ref := range a.own {
		if ref.Room == lr.name {
			delete(a.own, ref)
		}
	}
	a.core.SetRoomOpts(lr.name, nil)
	a.core.SetRoom(now, lr.name, lr.room.Mode(), nil)
	delete(a.rooms, lr.name)
}

// refresh re-reads one room: announces our part of it (the Core floods it
// if it changed) and brings the mirrored participants in line with the
// other nodes' parts.
func (a *accessSide) refresh(now time.Time, lr *localRoom) {
	parts := a.snapshot(lr)
	a.core.SetRoomOpts(lr.name, roomOpts(lr.room))
	a.core.SetRoom(now, lr.name, lr.room.Mode(), parts)
	a.reconcileGhosts(now, lr, len(parts) > 0)
	a.warmNewcomers(now, lr, parts)
}

// snapshot describes the room's local participants (ghosts excluded) and
// records their tracks as this node's own.
func (a *accessSide) snapshot(lr *localRoom) []ParticipantState {
	var parts []ParticipantState
	for ref := range a.own {
		if ref.Room == lr.name {
			delete(a.own, ref)
		}
	}
	for _, p := range lr.room.Participants() {
		if g := lr.ghosts[p.ID()]; g != nil && g.p == p {
			continue
		}
		ps := ParticipantState{ID: p.ID(), Name: p.Name(), Since: p.Since().UnixMilli()}
		for _, r := range p.Tracks() {
			info, codec := r.Info(), r.Codec()
			ps.Tracks = append(ps.Tracks, TrackState{ID: r.ID(), Kind: info.Kind, Mime: codec.MimeType,
				ClockRate: codec.ClockRate, Channels: codec.Channels, Fmtp: codec.SDPFmtpLine,
				Layers: info.Layers, AudioLevelExt: r.AudioLevelExt(), DDExt: r.DDExt(), Muted: info.Muted, Source: r.Source(),
				BackupFor: r.BackupFor()})
			a.own[TrackRef{Origin: a.core.Name(), Room: lr.name, ID: r.ID()}] = r
		}
		if len(ps.Tracks) > maxTracks {
			ps.Tracks = ps.Tracks[:maxTracks]
		}
		parts = append(parts, ps)
		if len(parts) == maxParticipants {
			break
		}
	}
	return parts
}

// RemoteChanged is the Core's call: another node's part of room changed.
func (a *accessSide) RemoteChanged(room string) {
	if lr := a.rooms[room]; lr != nil {
		a.touch(lr)
	}
}

// reconcileGhosts mirrors the other nodes' participants while the room has
// local participants, and removes every mirror once it has none (so the
// room can close).
//
// One identity on two nodes is one participant that moved (or a second
// tab): the newest session wins (ParticipantState.Since; on a tie the
// node whose name sorts first). A local participant with an older session
// than a remote record is replaced by the mirror, which closes it with
// sfu.ErrReplaced (once it stopped sending: move.go); a mirror whose
// identity moved to another node follows it there. Either way the room
// sees no leave.
func (a *accessSide) reconcileGhosts(now time.Time, lr *localRoom, hasLocal bool) {
	want := map[string]ParticipantState{}
	origin := map[string]string{}
	// replace: the local participant a mirror may replace (the older
	// session of its identity), as the room was when we looked.
	replace := map[string]*sfu.Participant{}
	if hasLocal {
		local := map[string]*sfu.Participant{}
		for _, p := range lr.room.Participants() {
			if g := lr.ghosts[p.ID()]; g == nil || g.p != p {
				local[p.ID()] = p
			}
		}
		deferred := map[string]bool{}
		for _, rs := range a.core.RemoteParts(lr.name) {
			for _, ps := range rs.Participants {
				if cur, dup := want[ps.ID]; dup && ps.Since <= cur.Since {
					continue
				}
				if p := local[ps.ID]; p != nil {
					since := p.Since().UnixMilli()
					if ps.Since < since || ps.Since == since && rs.Origin > a.core.Name() {
						continue // the local session is the newer
					}
					if deferred[ps.ID] || a.deferReplace(now, lr, p) {
						deferred[ps.ID] = true
						continue
					}
				}
				want[ps.ID], origin[ps.ID], replace[ps.ID] = ps, rs.Origin, local[ps.ID]
				if local[ps.ID] != nil {
					a.log.Debug("local session replaced by the mirror of its newer one", "room", lr.name, "participant", ps.ID, "origin", rs.Origin)
				}
			}
		}
		for id := range lr.newer {
			if !deferred[id] {
				delete(lr.newer, id)
			}
		}
	}
	for _, id := range sortedKeys(lr.ghosts) {
		g := lr.ghosts[id]
		if _, ok := want[id]; !ok {
			if a.handOver(now, lr, id, g) {
				continue
			}
			a.dropGhost(now, lr, id, g)
		} else if origin[id] != g.origin {
			a.reoriginGhost(now, g, origin[id])
		}
	}
	for _, id := range sortedKeys(want) {
		g := lr.ghosts[id]
		if g == nil {
			p, err := a.sfu.Join(lr.name, lr.room.Mode(), sfu.ParticipantParams{ID: id, Name: want[id].Name,
				CanPublish: true, Remote: true, Since: time.UnixMilli(want[id].Since), KeepWhenReplaced: true,
				Replaces: replace[id]})
			if errors.Is(err, sfu.ErrLocalSession) {
				// The identity joined here since we looked (it moved
				// here): its join is an event of the room, which is
				// looked at again.
				a.log.Debug("mirror participant: a local session joined meanwhile", "room", lr.name, "participant", id)
				continue
			}
			if err != nil {
				a.log.Warn("mirror participant", "room", lr.name, "participant", id, "err", err)
				continue
			}
			a.log.Debug("mirror participant", "room", lr.name, "participant", id, "origin", origin[id], "since", want[id].Since)
			g = &ghost{origin: origin[id], p: p, tracks: map[string]*ghostTrack{}, muted: map[string]bool{}}
			lr.ghosts[id] = g
		}
		a.reconcileTracks(now, lr, g, want[id])
	}
}

func (a *accessSide) dropGhost(now time.Time, lr *localRoom, id string, g *ghost) {
	for _, tid := range sortedKeys(g.tracks) {
		a.dropTrack(now, g.tracks[tid])
	}
	for _, gt := range g.retiring {
		a.dropTrack(now, gt)
	}
	g.p.Close()
	delete(lr.ghosts, id)
}

func (a *accessSide) dropTrack(now time.Time, gt *ghostTrack) {
	gt.drop()
	delete(a.mirror, gt.ref)
	a.core.Want(now, gt.ref, 0)
}

// reconcileTracks publishes, replaces and unpublishes a ghost's tracks.
func (a *accessSide) reconcileTracks(now time.Time, lr *localRoom, g *ghost, ps ParticipantState) {
	want := map[string]TrackState{}
	for _, ts := range ps.Tracks {
		want[ts.ID] = ts
	}
	for _, id := range sortedKeys(g.tracks) {
		gt := g.tracks[id]
		ts, ok := want[id]
		if ok && sameTrack(gt.state, ts) {
			gt.state.Muted = ts.Muted
			continue
		}
		a.log.Debug("mirror track ends", "track", gt.ref, "announced", ok, "was", gt.state, "now", ts)
		a.dropTrack(now, gt)
		g.p.UnpublishTrack(gt.recv)
		delete(g.tracks, id)
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
			Layers: ts.Layers, AudioLevelExt: ts.AudioLevelExt, DDExt: ts.DDExt, Upstream: &ghostUpstream{a: a, gt: gt}, Muted: ts.Muted,
			Source: ts.Source, BackupFor: ts.BackupFor})
		if err != nil {
			a.log.Warn("mirror track", "track", ref, "err", err)
			continue
		}
		gt.recv = r
		// Not carried at all while no local subscriber takes it (selective
		// subscription, an unused backup codec); the first one resumes it.
		gt.wanted = layerMask(r.PauseIfUnsubscribed())
		gt.feed = a.feeds.start(r)
		g.tracks[ts.ID] = gt
		a.mirror[ref] = gt
		a.core.Want(now, ref, gt.wanted)
		a.log.Debug("mirror track", "track", ref, "kind", ts.Kind, "wanted", gt.wanted)
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

// Deliver is the Core's call: one packet from a trunk for the local
// mirror of its track, through the track's feed goroutine.
func (a *accessSide) Deliver(now time.Time, ref TrackRef, layer int, b []byte) {
	gt := a.mirror[ref]
	if gt == nil || gt.feed == nil {
		return
	}
	gt.feed.push(layer, b, now)
}

// RequestKeyframe is the Core's call: ask the local publisher of one of
// our tracks.
func (a *accessSide) RequestKeyframe(ref TrackRef, layer int) {
	if r := a.own[ref]; r != nil {
		r.RequestKeyframe(layer)
	}
}

// StartLayer is the Core's call: start taking a local layer out.
func (a *accessSide) StartLayer(ref TrackRef, layer int) bool {
	k := flowKey{ref, layer}
	r := a.own[ref]
	if r == nil || a.sinks[k] != nil {
		return r != nil
	}
	rm, err := r.AddSink(layer, &trunkSink{a: a, key: k})
	if err != nil {
		a.log.Warn("sink", "track", ref, "layer", layer, "err", err)
		return false
	}
	a.sinks[k] = rm
	return true
}

// StopLayer is the Core's call: stop taking a local layer out.
func (a *accessSide) StopLayer(ref TrackRef, layer int) {
	k := flowKey{ref, layer}
	if rm := a.sinks[k]; rm != nil {
		rm()
		delete(a.sinks, k)
	}
}

func (a *accessSide) close(now time.Time) {
	for _, name := range sortedKeys(a.rooms) {
		lr := a.rooms[name]
		lr.cancel()
		for _, id := range sortedKeys(lr.ghosts) {
			a.dropGhost(now, lr, id, lr.ghosts[id])
		}
		a.endHandovers(now, lr)
	}
	for k, rm := range a.sinks {
		rm()
		delete(a.sinks, k)
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
	u.a.calls.push(func(now time.Time) {
		if !u.gt.gone {
			u.a.core.RequestKeyframe(now, u.gt.ref, layer)
		}
	})
}

func (u *ghostUpstream) SetLayersWanted(wanted []bool) {
	mask := layerMask(wanted)
	u.a.calls.push(func(now time.Time) {
		if !u.gt.gone && u.gt.wanted != mask {
			u.gt.wanted = mask
			u.a.core.Want(now, u.gt.ref, mask)
		}
	})
}

// layerMask turns wanted layers into a Subscribe mask.
func layerMask(wanted []bool) uint32 {
	var mask uint32
	for i, w := range wanted {
		if w && i < maxLayers {
			mask |= 1 << i
		}
	}
	return mask
}

// trunkSink carries a local layer's packets to the loop. It never blocks
// the receiver: when the loop is behind, packets are dropped and counted.
type trunkSink struct {
	a   *accessSide
	key flowKey
}

// WriteRTP copies the packet once, into a buffer from the driver's pool
// (raw is the receiver's and is reused after the call); the loop returns
// the buffer once the Core queued the packet on every downstream trunk,
// which copies it again into QRTP's send queue.
func (s *trunkSink) WriteRTP(_ int, raw []byte) {
	b := s.a.bufs.get(len(raw))
	*b = append((*b)[:0], raw...)
	select {
	case s.a.media <- localPacket{key: s.key, data: b}:
	default:
		s.a.bufs.put(b)
		s.a.drops.sinkDrops.Add(1)
	}
}

// TrackEnded needs nothing: the room's refresh announces the track gone,
// the far nodes unsubscribe, and the Core then stops the layer.
func (s *trunkSink) TrackEnded() {}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
