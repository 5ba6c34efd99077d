package node

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/trunk"
)

// The network-wide view the room API answers from: the other nodes' room
// records as flooded over the trunks, and this node's own rooms read from
// its SFU directly (so that what this node just did shows at once).

type apiRoom struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
	// MaxParticipants and EmptyTimeout (seconds) are an operator's options
	// while the room is held open by the node that created it.
	MaxParticipants int              `json:"max_participants,omitempty"`
	EmptyTimeout    int64            `json:"empty_timeout,omitempty"`
	Nodes           []apiNode        `json:"nodes"`
	Participants    []apiParticipant `json:"participants"`
}

type apiNode struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

type apiParticipant struct {
	Identity string     `json:"identity"`
	Name     string     `json:"name"`
	Node     string     `json:"node"`
	Region   string     `json:"region"`
	Tracks   []apiTrack `json:"tracks"`
}

type apiTrack struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Mime   string   `json:"mime"`
	Layers []string `json:"layers,omitempty"`
	Muted  bool     `json:"muted"`
}

// netView is the network at one moment.
type netView struct {
	self    string
	regions map[string]string // node → region
	access  []string          // access nodes, by name
	rooms   map[string]*apiRoom
}

// view builds the network-wide view.
func (n *Node) view(ctx context.Context) (*netView, error) {
	v := &netView{self: n.cfg.Name, regions: map[string]string{n.cfg.Name: n.cfg.Region}, rooms: map[string]*apiRoom{}}
	if n.sfu != nil {
		v.access = append(v.access, n.cfg.Name)
	}
	if n.trunk != nil {
		nw, err := n.trunk.Network(ctx)
		if err != nil {
			return nil, errf(http.StatusServiceUnavailable, codeUnavailable, "the trunk did not answer: %v", err)
		}
		for _, ns := range nw.Nodes {
			v.regions[ns.Name] = ns.Region
			if ns.Role == "access" && ns.Name != n.cfg.Name {
				v.access = append(v.access, ns.Name)
			}
		}
		for _, rs := range nw.Rooms {
			if rs.Origin != n.cfg.Name {
				v.addRecord(rs)
			}
		}
	}
	if n.sfu != nil {
		for _, r := range n.sfu.Rooms() {
			v.addLocal(r)
		}
	}
	sort.Strings(v.access)
	for _, r := range v.rooms {
		sort.Slice(r.Participants, func(i, j int) bool {
			a, b := r.Participants[i], r.Participants[j]
			if a.Node != b.Node {
				return a.Node < b.Node
			}
			return a.Identity < b.Identity
		})
		sort.Slice(r.Nodes, func(i, j int) bool { return r.Nodes[i].Name < r.Nodes[j].Name })
	}
	return v, nil
}

func (v *netView) room(name, mode string) *apiRoom {
	r := v.rooms[name]
	if r == nil {
		r = &apiRoom{Name: name, Mode: mode, Nodes: []apiNode{}, Participants: []apiParticipant{}}
		v.rooms[name] = r
	}
	return r
}

func (v *netView) addNode(r *apiRoom, node string) {
	for _, x := range r.Nodes {
		if x.Name == node {
			return
		}
	}
	r.Nodes = append(r.Nodes, apiNode{Name: node, Region: v.regions[node]})
}

func (v *netView) addRecord(rs trunk.RoomState) {
	r := v.room(rs.Room, rs.Mode)
	v.addNode(r, rs.Origin)
	if rs.Opts != nil {
		r.Mode, r.MaxParticipants, r.EmptyTimeout = rs.Mode, rs.Opts.MaxParticipants, rs.Opts.EmptyTimeoutMs/1000
	}
	for _, ps := range rs.Participants {
		ap := apiParticipant{Identity: ps.ID, Name: ps.Name, Node: rs.Origin, Region: v.regions[rs.Origin], Tracks: []apiTrack{}}
		for _, t := range ps.Tracks {
			ap.Tracks = append(ap.Tracks, apiTrack{ID: t.ID, Kind: t.Kind, Mime: t.Mime, Layers: t.Layers, Muted: t.Muted})
		}
		r.Participants = append(r.Participants, ap)
	}
}

func (v *netView) addLocal(sr *sfu.Room) {
	var parts []*sfu.Participant
	for _, p := range sr.Participants() {
		if !p.Remote() {
			parts = append(parts, p)
		}
	}
	created := sr.Created()
	if len(parts) == 0 && !created {
		return // only mirrors of other nodes' participants: their nodes report them
	}
	r := v.room(sr.Name(), sr.Mode())
	v.addNode(r, v.self)
	if created {
		o := sr.Options()
		r.Mode, r.MaxParticipants, r.EmptyTimeout = sr.Mode(), o.MaxParticipants, int64(o.EmptyTimeout/time.Second)
	}
	for _, p := range parts {
		ap := apiParticipant{Identity: p.ID(), Name: p.Name(), Node: v.self, Region: v.regions[v.self], Tracks: []apiTrack{}}
		for _, t := range p.Tracks() {
			info := t.Info()
			ap.Tracks = append(ap.Tracks, apiTrack{ID: t.ID(), Kind: info.Kind, Mime: t.Codec().MimeType, Layers: info.Layers, Muted: info.Muted})
		}
		r.Participants = append(r.Participants, ap)
	}
}

// sorted lists the rooms by name.
func (v *netView) sorted() []*apiRoom {
	out := make([]*apiRoom, 0, len(v.rooms))
	for _, r := range v.rooms {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// participant finds a participant of a room: its room, and the
// participant (first node by name when an identity is on two nodes).
func (v *netView) participant(room, identity string) (*apiRoom, *apiParticipant, error) {
	r := v.rooms[room]
	if r == nil {
		return nil, nil, errf(http.StatusNotFound, codeRoomNotFound, "no room %q in the network", room)
	}
	for i := range r.Participants {
		if r.Participants[i].Identity == identity {
			return r, &r.Participants[i], nil
		}
	}
	return r, nil, errf(http.StatusNotFound, codePartNotFound, "no participant %q in room %q", identity, room)
}
