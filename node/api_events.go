package node

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/webhook"
)

// Webhook events: what happened on this node, sent once per network by
// the node where it happened. Participants and tracks are this node's own
// (mirrors of other nodes' participants are theirs to report). Room-level
// events need the network: a room started here is reported only if no
// other node has it, and one that closed here only when no node has it any
// more (decided from the flooded room records; two nodes opening or
// closing the same room within the flooding delay, about 100 ms plus a
// trunk's delay, may both report it; see finishTogether). A participant that joins here while
// another node still has it is reported as moved, not joined, and the old
// node does not report it as left.

// eventsEvery is how often the node's rooms are compared with what was
// reported (and at once when a room changes).
const eventsEvery = 250 * time.Millisecond

// finishTogether is how soon after this node closed a room the other
// nodes' records of it must vanish for the closes to count as
// simultaneous: each node may then have seen the other's record before it
// was withdrawn (a flooding delay, about 100 ms plus a trunk's delay, and
// a step), and both held back. The node with the smallest name reports
// room_finished then. When the others close later, the last of them
// reports it (it no longer sees this node's record).
const finishTogether = 750 * time.Millisecond

// pendingFinish is a room that closed here while other nodes had it.
type pendingFinish struct {
	closedAt time.Time
	first    string // the smallest name among the nodes that had it
}

// settleFinished decides a pending room: whether this node (self) reports
// room_finished, and whether the room is settled. open says whether the
// room is open here again.
func settleFinished(p pendingFinish, now time.Time, self string, open bool, others peerView, room string) (report, done bool) {
	switch {
	case open:
		return false, true // reopened here: its next close decides
	case others.rooms[room]:
		// Still elsewhere: after the window, whoever closes it last
		// reports it.
		return false, now.Sub(p.closedAt) > finishTogether
	default:
		return now.Sub(p.closedAt) <= finishTogether && self < p.first, true
	}
}

// roomsSnap is this node's rooms as webhooks see them.
type roomsSnap map[string]roomSnap

type roomSnap struct {
	mode  string
	parts map[string]partSnap // own participants by identity
}

type partSnap struct {
	name   string
	tracks map[string]webhook.Track
}

// peerView is what the other nodes have, from the flooded records.
type peerView struct {
	rooms map[string]bool              // rooms live on another node
	first map[string]string            // room → smallest name of a node that has it
	where map[string]map[string]string // room → identity → node
}

// diffEvents is the events between two snapshots of this node, given the
// other nodes' view. It is pure; finished lists rooms that closed here
// while others had them (to ask again later).
func diffEvents(prev, cur roomsSnap, others peerView) (evs []webhook.Event, finished []string) {
	for _, name := range sortedKeys(cur) {
		r := cur[name]
		room := &webhook.Room{Name: name, Mode: r.mode}
		p, had := prev[name]
		if !had && !others.rooms[name] {
			evs = append(evs, webhook.Event{Event: webhook.RoomStarted, Room: room})
		}
		for _, id := range sortedKeys(r.parts) {
			ps := r.parts[id]
			old, was := p.parts[id]
			if !was {
				ev := webhook.Event{Event: webhook.ParticipantJoined, Room: room, Participant: &webhook.Participant{Identity: id, Name: ps.name}}
				if from := others.where[name][id]; from != "" {
					ev.Event, ev.Participant.From = webhook.ParticipantMoved, from
				}
				evs = append(evs, ev)
			}
			for _, tid := range sortedKeys(ps.tracks) {
				if _, ok := old.tracks[tid]; !ok {
					tr := ps.tracks[tid]
					evs = append(evs, webhook.Event{Event: webhook.TrackPublished, Room: room, Participant: &webhook.Participant{Identity: id, Name: ps.name}, Track: &tr})
				}
			}
		}
	}
	for _, name := range sortedKeys(prev) {
		r := prev[name]
		room := &webhook.Room{Name: name, Mode: r.mode}
		c := cur[name]
		for _, id := range sortedKeys(r.parts) {
			ps := r.parts[id]
			now, stays := c.parts[id]
			for _, tid := range sortedKeys(ps.tracks) {
				if _, ok := now.tracks[tid]; !ok {
					tr := ps.tracks[tid]
					evs = append(evs, webhook.Event{Event: webhook.TrackUnpublished, Room: room, Participant: &webhook.Participant{Identity: id, Name: ps.name}, Track: &tr})
				}
			}
			if !stays && others.where[name][id] == "" {
				evs = append(evs, webhook.Event{Event: webhook.ParticipantLeft, Room: room, Participant: &webhook.Participant{Identity: id, Name: ps.name}})
			}
		}
		if _, open := cur[name]; !open {
			if others.rooms[name] {
				finished = append(finished, name)
			} else {
				evs = append(evs, webhook.Event{Event: webhook.RoomFinished, Room: room})
			}
		}
	}
	return evs, finished
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// eventSource is the driver: it snapshots the SFU, asks the trunk for the
// other nodes' view, and notifies the sender. One goroutine; Close stops it.
type eventSource struct {
	n       *Node
	hooks   *webhook.Sender
	prev    roomsSnap
	pending map[string]pendingFinish // rooms that closed here while others had them
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	watched map[*sfu.Room]func()
}

func newEventSource(n *Node, hooks *webhook.Sender) *eventSource {
	es := &eventSource{n: n, hooks: hooks, prev: roomsSnap{}, pending: map[string]pendingFinish{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), watched: map[*sfu.Room]func(){}}
	go es.run()
	return es
}

func (es *eventSource) run() {
	defer close(es.done)
	t := time.NewTicker(eventsEvery)
	defer t.Stop()
	for {
		select {
		case <-es.stop:
			return
		case <-t.C:
		case <-es.kick:
		}
		es.step(time.Now(), true)
	}
}

// step compares the node's rooms with the last snapshot and reports the
// difference.
func (es *eventSource) step(now time.Time, withPeers bool) {
	cur := es.snapshot()
	var others peerView
	if withPeers {
		others = es.peers()
	}
	if changed(es.prev, cur) {
		evs, finished := diffEvents(es.prev, cur, others)
		for _, ev := range evs {
			if !withPeers && (ev.Event == webhook.RoomStarted || ev.Event == webhook.RoomFinished) {
				continue // without the network's view, room events are not ours to decide
			}
			es.hooks.Notify(ev)
		}
		for _, r := range finished {
			es.pending[r] = pendingFinish{closedAt: now, first: others.first[r]}
		}
		es.prev = cur
	}
	if !withPeers {
		return
	}
	for r, p := range es.pending {
		_, open := cur[r]
		report, done := settleFinished(p, now, es.n.cfg.Name, open, others, r)
		if report {
			es.hooks.Notify(webhook.Event{Event: webhook.RoomFinished, Room: &webhook.Room{Name: r}})
		}
		if done {
			delete(es.pending, r)
		}
	}
}

// snapshot reads the SFU's rooms and watches new ones, so that a change
// runs a step at once.
func (es *eventSource) snapshot() roomsSnap {
	out := roomsSnap{}
	rooms := es.n.sfu.Rooms()
	es.mu.Lock()
	live := map[*sfu.Room]bool{}
	for _, r := range rooms {
		live[r] = true
		if es.watched[r] == nil {
			es.watched[r] = r.Watch(func(sfu.Event) {
				select {
				case es.kick <- struct{}{}:
				default:
				}
			})
		}
	}
	for r, cancel := range es.watched {
		if !live[r] {
			cancel()
			delete(es.watched, r)
		}
	}
	es.mu.Unlock()
	for _, r := range rooms {
		rs := roomSnap{mode: r.Mode(), parts: map[string]partSnap{}}
		for _, p := range r.Participants() {
			if p.Remote() {
				continue
			}
			ps := partSnap{name: p.Name(), tracks: map[string]webhook.Track{}}
			for _, t := range p.Tracks() {
				ps.tracks[t.ID()] = webhook.Track{ID: t.ID(), Kind: t.Info().Kind, Mime: t.Codec().MimeType}
			}
			rs.parts[p.ID()] = ps
		}
		if len(rs.parts) > 0 || r.Created() {
			out[r.Name()] = rs
		}
	}
	return out
}

// peers is the other nodes' view, from the trunk's fresh records.
func (es *eventSource) peers() peerView {
	v := peerView{rooms: map[string]bool{}, where: map[string]map[string]string{}, first: map[string]string{}}
	if es.n.trunk == nil {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	nw, err := es.n.trunk.Network(ctx)
	if err != nil {
		return v
	}
	for _, rs := range nw.Rooms {
		if rs.Origin == es.n.cfg.Name {
			continue
		}
		v.rooms[rs.Room] = true
		if f, ok := v.first[rs.Room]; !ok || rs.Origin < f {
			v.first[rs.Room] = rs.Origin
		}
		for _, p := range rs.Participants {
			if v.where[rs.Room] == nil {
				v.where[rs.Room] = map[string]string{}
			}
			v.where[rs.Room][p.ID] = rs.Origin
		}
	}
	return v
}

func changed(a, b roomsSnap) bool {
	if len(a) != len(b) {
		return true
	}
	for name, r := range a {
		o, ok := b[name]
		if !ok || len(o.parts) != len(r.parts) {
			return true
		}
		for id, p := range r.parts {
			q, ok := o.parts[id]
			if !ok || len(q.tracks) != len(p.tracks) {
				return true
			}
			for tid := range p.tracks {
				if _, ok := q.tracks[tid]; !ok {
					return true
				}
			}
		}
	}
	return false
}

// close stops the source after a last look without the network (the trunk
// may be gone): participants and tracks that ended are still reported.
func (es *eventSource) close() {
	close(es.stop)
	<-es.done
	es.step(time.Now(), false)
	es.mu.Lock()
	for r, cancel := range es.watched {
		cancel()
		delete(es.watched, r)
	}
	es.mu.Unlock()
}
