package sfu

import (
	"slices"
	"sync"
	"time"
)

// Joined is the first event every participant gets: who it is and what the
// room holds at the moment it joined.
type Joined struct {
	Participant  ParticipantInfo
	Room, Mode   string
	Participants []ParticipantInfo
	ICEServers   []ICEServer
}

func (Joined) isEvent() {}

// Room is a set of participants that receive each other's tracks. A room
// runs one goroutine that selects layers, runs dynacast and detects
// speakers; it ends when the last participant leaves.
type Room struct {
	sfu        *SFU
	name, mode string

	mu           sync.Mutex
	closed       bool
	hold         roomHold       // options and the empty-room hold (room_options.go)
	participants []*Participant // join order
	watchers     map[int]func(Event)
	watchSeq     int

	data roomData

	speakerMu sync.Mutex
	speaker   *speakerDetector

	kickCh chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newRoom(s *SFU, name, mode string) *Room {
	r := &Room{sfu: s, name: name, mode: mode, watchers: map[int]func(Event){},
		speaker: newSpeakerDetector(defaultSpeakerParams),
		kickCh:  make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// Name is the room's name.
func (r *Room) Name() string { return r.name }

// Mode is "meeting" or "live", fixed by the first join.
func (r *Room) Mode() string { return r.mode }

// Participants lists the room's participants in join order.
func (r *Room) Participants() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.participants)
}

// Participant finds a participant by identity.
func (r *Room) Participant(id string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.participants {
		if p.id == id {
			return p
		}
	}
	return nil
}

// Watch calls fn with every event broadcast in the room (joins, leaves,
// tracks published and unpublished, mutes, speakers) until cancel is
// called. It is how a trunk follows a room without being a participant.
// fn has the constraints of ParticipantParams.OnEvent.
func (r *Room) Watch(fn func(Event)) (cancel func()) {
	r.mu.Lock()
	r.watchSeq++
	id := r.watchSeq
	r.watchers[id] = fn
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.watchers, id)
		r.mu.Unlock()
	}
}

// join adds a participant; errRoomClosed tells the SFU to retry on a new
// room. A remote participant replaces a local one of its identity only if
// it is replaces (ParticipantParams.Replaces); the check and the
// replacement are one step under the room's lock.
func (r *Room) join(p, replaces *Participant) (old *Participant, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRoomClosed
	}
	i := slices.IndexFunc(r.participants, func(x *Participant) bool { return x.id == p.id })
	if i >= 0 && p.remote && !r.participants[i].remote && r.participants[i] != replaces {
		return nil, ErrLocalSession
	}
	if i >= 0 {
		old = r.participants[i]
		r.participants = slices.Delete(r.participants, i, i+1)
	} else if !p.remote && len(r.participants) >= r.maxParticipantsLocked() {
		return nil, ErrRoomFull
	}
	infos := make([]ParticipantInfo, 0, len(r.participants))
	for _, o := range r.participants {
		infos = append(infos, o.Info())
	}
	r.participants = append(r.participants, p)
	// Emitted under the room lock: no event about the room can reach p
	// before the snapshot it describes.
	p.emit(Joined{Participant: p.Info(), Room: r.name, Mode: r.mode, Participants: infos, ICEServers: r.sfu.ICEServers()})
	return old, nil
}

// afterJoin tells the others and subscribes the newcomer to what exists.
// A participant that replaced one with its identity is no news to the
// others: they saw no leave, and see its new tracks as they come.
func (r *Room) afterJoin(p *Participant, replaced bool) {
	if !replaced {
		r.broadcast(p, ParticipantJoined{Participant: p.Info()})
	}
	if p.sub != nil && p.sub.data != nil {
		p.sub.negotiate() // the data channels need an offer even without tracks
	}
	if p.sub != nil {
		for _, o := range r.Participants() {
			if o == p {
				continue
			}
			p.sub.syncOwner(o)
		}
	}
	r.kick()
}

// remove takes p out of the room (if it is still the one with its ID).
func (r *Room) remove(p *Participant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(r.participants, p); i >= 0 {
		r.participants = slices.Delete(r.participants, i, i+1)
		r.markEmptyLocked(time.Now())
	}
}

// leaveDone closes the room if the last participant has finished leaving,
// unless an operator's empty timeout holds it open (room_options.go).
func (r *Room) leaveDone() { r.closeIfEmpty(time.Now(), false) }

// closeIfEmpty closes an empty room; force ignores the hold. It must not
// run on the room's own goroutine (it waits for it to end).
func (r *Room) closeIfEmpty(now time.Time, force bool) {
	r.mu.Lock()
	empty := len(r.participants) == 0 && !r.closed && (force || !r.heldLocked(now))
	if empty {
		r.closed = true
	}
	r.mu.Unlock()
	if empty {
		close(r.stop)
		r.sfu.dropRoom(r)
	}
}

// broadcast sends ev to everyone but from (nil: everyone) and to watchers.
// A participant that replaced from (same identity) is skipped too: it must
// not hear its predecessor leave.
func (r *Room) broadcast(from *Participant, ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.participants {
		if from == nil || p.id != from.id {
			p.emit(ev)
		}
	}
	for _, w := range r.watchers {
		w(ev)
	}
}

// publish announces a new track and subscribes everyone whose rules pick
// it (subscription.go). A backup codec is announced to watchers only:
// clients receive it under its primary's ID.
func (r *Room) publish(from *Participant, t *Receiver) {
	if t.backupFor == "" {
		r.broadcast(from, TrackPublished{ParticipantID: from.id, Track: t.Info()})
	} else {
		r.watchersOnly(TrackPublished{ParticipantID: from.id, Track: t.Info()})
	}
	for _, p := range r.Participants() {
		if p != from && p.sub != nil {
			p.sub.syncOwner(from)
		}
	}
	r.kick()
}

// unpublish removes a track from every subscriber and tells everyone.
func (r *Room) unpublish(from *Participant, t *Receiver) {
	t.close()
	for _, p := range r.Participants() {
		if p.sub != nil {
			p.sub.remove(t)
			if p != from {
				p.sub.syncOwner(from) // a backup may take over
			}
		}
	}
	for _, p := range r.Participants() {
		p.forgetTrackPreference(t.id)
	}
	if t.backupFor == "" {
		r.broadcast(from, TrackUnpublished{ParticipantID: from.id, TrackID: t.id})
	} else {
		r.watchersOnly(TrackUnpublished{ParticipantID: from.id, TrackID: t.id})
	}
}

// watchersOnly sends ev to watchers but not to participants.
func (r *Room) watchersOnly(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.watchers {
		w(ev)
	}
}

func (r *Room) observeLevel(id string, level uint8) {
	r.speakerMu.Lock()
	r.speaker.observe(id, level)
	r.speakerMu.Unlock()
}

func (r *Room) forgetSpeaker(id string) {
	r.speakerMu.Lock()
	r.speaker.remove(id)
	r.speakerMu.Unlock()
}

// kick runs the room loop now, e.g. after a subscription or a preference
// change, rather than at the next tick.
func (r *Room) kick() {
	select {
	case r.kickCh <- struct{}{}:
	default:
	}
}

func (r *Room) run() {
	defer close(r.done)
	t := time.NewTicker(r.sfu.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.tick(now)
			r.speakers(now)
			r.checkHold(now)
		case <-r.kickCh:
			r.tick(time.Now())
		}
	}
}

// tick selects layers for every subscriber, then lets every receiver
// measure and run dynacast on the fresh selections.
func (r *Room) tick(now time.Time) {
	parts := r.Participants()
	var paths map[string]Path
	pathsAsked := false
	for _, p := range parts {
		if p.sub != nil {
			p.sub.allocate(now)
			if !p.sub.gradesDue(now) {
				continue
			}
			if !pathsAsked {
				paths, pathsAsked = r.roomPaths(), true
			}
			if q, changed := p.sub.grades(now, paths); changed {
				p.emit(q)
			}
		}
	}
	for _, p := range parts {
		for _, t := range p.Tracks() {
			t.tick(now, r.sfu.cfg.DynacastPauseAfter)
		}
	}
}

func (r *Room) speakers(now time.Time) {
	r.speakerMu.Lock()
	ids, changed := r.speaker.tick(now)
	r.speakerMu.Unlock()
	if changed {
		r.broadcast(nil, Speakers{ParticipantIDs: slices.Clone(ids)})
	}
}
