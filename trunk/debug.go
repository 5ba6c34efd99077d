package trunk

import (
	"context"
	"errors"
	"slices"
	"time"
)

// RoomDebug is everything one node holds about one room, for diagnosing a
// failure (a test dumps it when a far participant's track never arrives):
// every node's record as this node has it, the records parked while their
// origin was forgotten, what the local side wants of remote tracks, the
// subscriptions across each trunk, the flows, and the mirrors.
type RoomDebug struct {
	Node    string       `json:"node"`
	Records []RoomState  `json:"records"`
	Parked  []RoomState  `json:"parked,omitempty"`
	Wants   []WantDebug  `json:"wants,omitempty"`
	Peers   []PeerDebug  `json:"peers,omitempty"`
	Flows   []FlowStatus `json:"flows,omitempty"`
	// Mirrors: the remote participants of the room mirrored into the
	// local SFU (access nodes only).
	Mirrors []MirrorDebug `json:"mirrors,omitempty"`
}

// WantDebug is the layer mask the local side wants of one remote track.
type WantDebug struct {
	Track  string `json:"track"`
	Layers uint32 `json:"layers"`
}

// PeerDebug is what crossed one trunk for the room: subscriptions sent
// there and received from there (track → layer mask), and refusals.
type PeerDebug struct {
	Peer     string            `json:"peer"`
	Up       bool              `json:"up"`
	Sent     map[string]uint32 `json:"sent,omitempty"`
	Received map[string]uint32 `json:"received,omitempty"`
	Rejected []string          `json:"rejected,omitempty"`
}

// MirrorDebug is one remote participant as the local SFU mirrors it.
type MirrorDebug struct {
	Participant string             `json:"participant"`
	Origin      string             `json:"origin"`
	Tracks      []MirrorTrackDebug `json:"tracks"`
	Retiring    int                `json:"retiring,omitempty"`
}

// MirrorTrackDebug is one mirrored track: its announcement, the layers it
// wants from the trunk and whether its delivery runs.
type MirrorTrackDebug struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Wanted uint32 `json:"wanted"`
	Feed   bool   `json:"feed"`
	Gone   bool   `json:"gone,omitempty"`
}

// DebugRoom describes the Core's side of a room (RoomDebug without the
// mirrors).
func (c *Core) DebugRoom(room string) RoomDebug {
	d := RoomDebug{Node: c.cfg.Name}
	for _, rs := range c.rooms.all() {
		if rs.Room == room {
			d.Records = append(d.Records, rs)
		}
	}
	for k, rs := range c.rooms.parked {
		if k.room == room {
			d.Parked = append(d.Parked, rs)
		}
	}
	for _, ref := range sortedRefs(c.wants) {
		if ref.Room == room {
			d.Wants = append(d.Wants, WantDebug{Track: ref.String(), Layers: c.wants[ref]})
		}
	}
	masks := func(m map[TrackRef]Subscribe) map[string]uint32 {
		out := map[string]uint32{}
		for ref, s := range m {
			if ref.Room == room {
				out[ref.String()] = s.Layers
			}
		}
		return out
	}
	for _, p := range c.peers {
		pd := PeerDebug{Peer: p.info.Name, Up: p.up, Sent: masks(p.sentSubs), Received: masks(p.recvSubs)}
		for ref := range p.rejected {
			if ref.Room == room {
				pd.Rejected = append(pd.Rejected, ref.String())
			}
		}
		slices.Sort(pd.Rejected)
		d.Peers = append(d.Peers, pd)
	}
	for _, f := range c.Status(c.now).Flows {
		if f.Room == room {
			d.Flows = append(d.Flows, f)
		}
	}
	return d
}

// mirrors describes the room's mirrored participants.
func (a *accessSide) mirrors(room string) []MirrorDebug {
	lr := a.rooms[room]
	if lr == nil {
		return nil
	}
	var out []MirrorDebug
	for _, id := range sortedKeys(lr.ghosts) {
		g := lr.ghosts[id]
		md := MirrorDebug{Participant: id, Origin: g.origin, Retiring: len(g.retiring)}
		for _, tid := range sortedKeys(g.tracks) {
			gt := g.tracks[tid]
			md.Tracks = append(md.Tracks, MirrorTrackDebug{ID: tid, Kind: gt.state.Kind, Wanted: gt.wanted,
				Feed: gt.feed != nil, Gone: gt.gone})
		}
		out = append(out, md)
	}
	return out
}

// errClosed: the trunk's loop ended before it answered.
var errClosed = errors.New("trunk: closed")

// DebugRoom asks the loop for the node's view of a room (RoomDebug).
func (t *Trunk) DebugRoom(ctx context.Context, room string) (RoomDebug, error) {
	ch := make(chan RoomDebug, 1)
	t.calls.push(func(time.Time) {
		d := t.core.DebugRoom(room)
		if t.access != nil {
			d.Mirrors = t.access.mirrors(room)
		}
		ch <- d
	})
	select {
	case d := <-ch:
		return d, nil
	case <-t.done:
		return RoomDebug{}, errClosed
	case <-ctx.Done():
		return RoomDebug{}, ctx.Err()
	}
}
