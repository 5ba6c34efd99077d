package trunk

import (
	"errors"
	"math"
	"time"
)

// Announce is what a node tells the network about itself for scheduling
// users: whether it takes new ones, how many it serves against how many it
// can, and where it stands. It travels inside the node's LinkState, so
// every node's scheduler sees every access node without a central store.
// The trunk only carries it; the node sets it (SetDraining, SetUsers,
// SetLocation) and the scheduler reads it (Nodes).
type Announce struct {
	// Draining: the node keeps the users it has but takes no new ones.
	Draining bool `json:"draining,omitempty"`
	// Users is the number of browser participants on the node; UserCap
	// the number at which it is full (0: no limit announced).
	Users   int `json:"users,omitempty"`
	UserCap int `json:"user_cap,omitempty"`
	// Lat and Lon are the node's configured coordinates in degrees; both
	// zero means none were configured.
	Lat float64 `json:"lat,omitempty"`
	Lon float64 `json:"lon,omitempty"`
	// KeyID is the API key (a token's kid) the node accepts tokens of, so
	// that a scheduler knows whether a token it mints works there.
	KeyID string `json:"kid,omitempty"`
}

func (a Announce) validate() error {
	if a.Users < 0 || a.UserCap < 0 || math.Abs(a.Lat) > 90 || math.Abs(a.Lon) > 180 {
		return errors.New("bad announce: negative users or capacity, or coordinates out of range")
	}
	return checkNames(a.KeyID)
}

// NodeView is one node as this node's link-state database knows it.
type NodeView struct {
	Name, Region, Role, HTTP string
	Announce
	// Heard is when the node was last known alive: now while a path of
	// up trunks reaches it (link state is refreshed only every
	// link_state_refresh, and sooner on changes), else when a newer
	// record from it last arrived or the path was lost, whichever is later.
	Heard time.Time
	// Linked: some trunk of the node is up by both ends' word, so media
	// can reach it. A stopped node's neighbours report their trunks to it
	// down at once, long before its record expires. Always true for this
	// node.
	Linked bool
	// Self marks this node.
	Self bool
}

// SetAnnounce replaces what the node announces about itself; a change of
// Draining is flooded at the next Poll, the rest with the next periodic
// link state.
func (c *Core) SetAnnounce(a Announce) {
	if a.Draining != c.announce.Draining {
		c.lsDirty = true
	}
	c.announce = a
}

// Nodes is every node of the network as the link-state database knows it
// at now, this node first.
func (c *Core) Nodes(now time.Time) []NodeView {
	reportedDown := map[[2]string]bool{}
	all := c.ls.all()
	for _, ls := range all {
		for _, l := range ls.Links {
			if !l.Up {
				reportedDown[[2]string{ls.Origin, l.Peer}] = true
			}
		}
	}
	view := []NodeView{{Name: c.cfg.Name, Region: c.cfg.Region, Role: string(c.cfg.Role),
		HTTP: c.http, Announce: c.announce, Heard: now, Linked: true, Self: true}}
	for _, ls := range all {
		if ls.Origin == c.cfg.Name {
			continue
		}
		nv := NodeView{Name: ls.Origin, Region: ls.Region, Role: ls.Role, HTTP: ls.HTTP,
			Announce: ls.Announce, Heard: c.ls.heard(now, ls.Origin)}
		for _, l := range ls.Links {
			_, known := c.ls.entries[l.Peer]
			if l.Up && known && !reportedDown[[2]string{l.Peer, ls.Origin}] {
				nv.Linked = true
				break
			}
		}
		view = append(view, nv)
	}
	return view
}

// SetDraining marks the node as draining (or not) and floods that at once,
// so every scheduler stops (or resumes) choosing it within a round trip.
func (t *Trunk) SetDraining(on bool) {
	t.updateAnnounce(func(a *Announce) { a.Draining = on })
}

// SetUsers records the node's user count and capacity; they go out with
// the next periodic link state.
func (t *Trunk) SetUsers(users, capacity int) {
	t.updateAnnounce(func(a *Announce) { a.Users, a.UserCap = max(users, 0), max(capacity, 0) })
}

// SetLocation records the node's coordinates (degrees; out-of-range values
// are clamped).
func (t *Trunk) SetLocation(lat, lon float64) {
	t.updateAnnounce(func(a *Announce) { a.Lat, a.Lon = min(max(lat, -90), 90), min(max(lon, -180), 180) })
}

// SetKeyID records the API key whose tokens the node accepts.
func (t *Trunk) SetKeyID(kid string) { t.updateAnnounce(func(a *Announce) { a.KeyID = kid }) }

// updateAnnounce changes the driver's copy (read by Nodes at once) and
// hands it to the Core on the loop.
func (t *Trunk) updateAnnounce(f func(*Announce)) {
	for {
		old := t.announce.Load()
		a := t.ownAnnounce()
		f(&a)
		if t.announce.CompareAndSwap(old, &a) {
			t.calls.push(func(time.Time) { t.core.SetAnnounce(*t.announce.Load()) })
			return
		}
	}
}

func (t *Trunk) ownAnnounce() Announce {
	if a := t.announce.Load(); a != nil {
		return *a
	}
	return Announce{}
}

// Nodes returns every node of the network as of the loop's last tick (at
// most 100 ms old), this node first with its current announce. The slice
// is shared: do not modify it.
func (t *Trunk) Nodes() []NodeView {
	v := t.view.Load()
	if v == nil || len(*v) == 0 {
		return []NodeView{{Name: t.name, Announce: t.ownAnnounce(), Linked: true, Self: true}}
	}
	out := *v
	if out[0].Announce != t.ownAnnounce() { // a change since the last tick
		out = append([]NodeView(nil), out...)
		out[0].Announce = t.ownAnnounce()
	}
	return out
}

// refreshView rebuilds the Nodes snapshot; it runs on the loop.
func (t *Trunk) refreshView(now time.Time) {
	v := t.core.Nodes(now)
	t.view.Store(&v)
}
