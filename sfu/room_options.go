package sfu

import (
	"errors"
	"time"
)

// RoomOptions are what an operator sets when creating a room (the room
// API): the mode, a participant limit, and how long the room stays open
// while empty. A room that a join creates takes the SFU's defaults (or the
// ones SetRoomDefaults finds) and closes as soon as its last participant
// leaves.
type RoomOptions struct {
	// Mode is "meeting" or "live"; empty means "meeting".
	Mode string
	// MaxParticipants limits the participants joining through this node
	// (mirrors of other nodes' participants count towards it but are
	// never refused); 0 means Config.MaxParticipants.
	MaxParticipants int
	// EmptyTimeout keeps a created room open while nobody is in it, from
	// its creation and again after its last participant leaves; 0 closes
	// it as soon as it is empty.
	EmptyTimeout time.Duration
}

// roomHold is a room's options and its empty-room hold, under Room.mu.
type roomHold struct {
	opts    RoomOptions
	created bool      // made by CreateRoom (an operator), not by a join
	since   time.Time // when the room last became empty (or was created)
	// released: the operator closed the room; it no longer holds.
	released bool
}

// ErrRoomExists is returned by CreateRoom for a room that is already open.
var ErrRoomExists = errors.New("sfu: room already exists")

// SetRoomDefaults installs fn, asked for the options of every room that a
// join creates (for example the options an operator gave the room on
// another node). fn must not block or call into the SFU.
func (s *SFU) SetRoomDefaults(fn func(room string) (RoomOptions, bool)) {
	s.mu.Lock()
	s.defaults = fn
	s.mu.Unlock()
}

// newRoomFor makes a room for a join; s.mu is held.
func (s *SFU) newRoomFor(name, mode string) *Room {
	if s.defaults != nil {
		if o, ok := s.defaults(name); ok {
			if o.Mode != "" {
				mode = o.Mode
			}
			r := newRoom(s, name, mode)
			r.hold.opts = RoomOptions{Mode: mode, MaxParticipants: o.MaxParticipants}
			return r
		}
	}
	r := newRoom(s, name, mode)
	r.hold.opts.Mode = mode
	return r
}

// CreateRoom opens an empty room with options, held open for
// o.EmptyTimeout. An open room is left as it is: ErrRoomExists.
func (s *SFU) CreateRoom(name string, o RoomOptions) (*Room, error) {
	if name == "" {
		return nil, errors.New("sfu: room without a name")
	}
	if o.Mode == "" {
		o.Mode = "meeting"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if r := s.rooms[name]; r != nil {
		return r, ErrRoomExists
	}
	r := newRoom(s, name, o.Mode)
	r.hold = roomHold{opts: o, created: true, since: time.Now()}
	s.rooms[name] = r
	s.all = append(s.all, r)
	return r, nil
}

// Options returns the room's options.
func (r *Room) Options() RoomOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hold.opts
}

// Created reports whether an operator created the room (CreateRoom) and
// has not closed it.
func (r *Room) Created() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hold.created && !r.hold.released
}

func (r *Room) maxParticipantsLocked() int {
	if m := r.hold.opts.MaxParticipants; m > 0 {
		return m
	}
	return r.sfu.cfg.MaxParticipants
}

// heldLocked: an empty created room stays open until its timeout.
func (r *Room) heldLocked(now time.Time) bool {
	h := &r.hold
	return h.created && !h.released && h.opts.EmptyTimeout > 0 && now.Sub(h.since) < h.opts.EmptyTimeout
}

// markEmptyLocked restarts the hold when the last participant leaves.
func (r *Room) markEmptyLocked(now time.Time) {
	if len(r.participants) == 0 {
		r.hold.since = now
	}
}

// checkHold runs on the room's goroutine each tick: a held room whose
// timeout passed while empty closes (from another goroutine, since closing
// waits for this one).
func (r *Room) checkHold(now time.Time) {
	r.mu.Lock()
	expired := len(r.participants) == 0 && !r.closed && r.hold.created && !r.heldLocked(now)
	r.mu.Unlock()
	if expired {
		go r.closeIfEmpty(time.Now(), false)
	}
}

// ErrRoomClosed is the Closed reason of participants whose room an
// operator closed.
var ErrRoomClosed = errors.New("sfu: room closed by an operator")

// Close is an operator closing the room: every participant that joined
// through this node leaves with ErrRoomClosed, the hold is released, and
// the room closes once empty (mirrors of other nodes' participants leave
// when their own nodes close the room). It returns how many left.
func (r *Room) Close() int {
	r.mu.Lock()
	r.hold.released = true
	r.mu.Unlock()
	n := 0
	for _, p := range r.Participants() {
		if !p.remote {
			p.close(ErrRoomClosed)
			n++
		}
	}
	r.closeIfEmpty(time.Now(), false)
	return n
}
