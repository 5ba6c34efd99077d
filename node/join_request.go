package node

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/signaling"
)

// parse reads a join request: the scheduling inputs, and the grant of the
// token to mint for the chosen node (zero when none is to be minted). On
// error it also returns the HTTP status and the stable error code.
func (j *joiner) parse(r *http.Request, now time.Time) (scheduler.Request, signaling.Grant, int, string, error) {
	var req scheduler.Request
	var g signaling.Grant
	q := r.URL.Query()
	fail := func(status int, code string, err error) (scheduler.Request, signaling.Grant, int, string, error) {
		return req, g, status, code, err
	}
	room, err := parseName("room", q.Get("room"), true)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", err)
	}
	name, err := parseName("name", q.Get("name"), false)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", err)
	}
	if name == "" {
		name = "guest"
	}
	if hint := q.Get("region"); hint != "" {
		if err := scheduler.CheckRegion(hint); err != nil {
			return fail(http.StatusBadRequest, "bad_hint", err)
		}
		req.Hint = hint
	}
	if req.RTTs, err = scheduler.ParseRTTs(q.Get("rtt")); err != nil {
		return fail(http.StatusBadRequest, "bad_probe", err)
	}
	if req.Policy, err = scheduler.ParsePolicy(q.Get("policy")); err != nil {
		return fail(http.StatusBadRequest, "unknown_policy", err)
	}
	if req.Pin, err = parseName("node", q.Get("node"), false); err != nil {
		return fail(http.StatusBadRequest, "bad_request", err)
	}
	role := q.Get("role")
	if role != "" && role != "host" && role != "viewer" {
		return fail(http.StatusBadRequest, "bad_request", fmt.Errorf("role %q: host or viewer", role))
	}
	req.Room = room
	tok := q.Get("token")
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		tok = b
	}
	switch {
	case tok != "":
		if g, err = j.verify.Verify(tok, now); err != nil {
			return fail(http.StatusUnauthorized, "bad_token", err)
		}
		if g.Room != room {
			return fail(http.StatusForbidden, "wrong_room", fmt.Errorf("the token is for room %q, not %q", g.Room, room))
		}
	case j.n.cfg.Dev:
		id, err := parseName("identity", q.Get("identity"), false)
		if err != nil {
			return fail(http.StatusBadRequest, "bad_request", err)
		}
		if id == "" {
			id = strings.ToLower(name) + "-" + randomString(3)
		}
		g = signaling.Grant{Identity: id, Name: name, Room: room, Subscribe: true, Publish: role != "viewer"}
	default:
		return fail(http.StatusUnauthorized, "token_required", errors.New("a token is required: pass it as Authorization: Bearer or ?token="))
	}
	req.Identity = g.Identity
	return req, g, 0, "", nil
}

// clientAddr is the client's address: the connection's peer, or the first
// X-Forwarded-For entry behind a trusted proxy.
func (j *joiner) clientAddr(r *http.Request) netip.Addr {
	if j.cfg.TrustForwardedFor {
		first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-For"), ",")
		if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return a.Unmap()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// view is the cluster as this node knows it now: itself, fresh, and every
// node of its flooded link state; the room's participants per node. kids
// are the API keys the other nodes accept tokens of.
func (j *joiner) view(now time.Time, room string) (v scheduler.View, kids map[string]string) {
	n := j.n
	self := scheduler.Node{Name: n.cfg.Name, Region: n.cfg.Region, Access: n.sfu != nil, URL: j.selfURL(),
		Coord: scheduler.Coord{Lat: j.cfg.Lat, Lon: j.cfg.Lon}, HasCoord: j.cfg.Lat != 0 || j.cfg.Lon != 0,
		Draining: j.draining.Load(), Linked: true, Heard: now, Capacity: j.cfg.Capacity}
	if n.sig != nil {
		self.Users = n.sig.Connections()
	}
	v = scheduler.View{Self: n.cfg.Name, Nodes: []scheduler.Node{self}}
	if n.trunk == nil {
		if n.sfu != nil {
			if r := n.sfu.Room(room); r != nil {
				v.Room = map[string]int{n.cfg.Name: len(r.Participants())}
			}
		}
		return v, nil
	}
	kids = map[string]string{}
	for _, x := range n.trunk.Nodes() {
		if x.Self {
			continue
		}
		kids[x.Name] = x.KeyID
		v.Nodes = append(v.Nodes, scheduler.Node{Name: x.Name, Region: x.Region, Access: x.Role == "access", URL: x.HTTP,
			Coord: scheduler.Coord{Lat: x.Lat, Lon: x.Lon}, HasCoord: x.Lat != 0 || x.Lon != 0,
			Draining: x.Draining, Linked: x.Linked, Heard: x.Heard, Users: x.Users, Capacity: x.UserCap})
	}
	rooms := n.trunk.Status().Rooms
	if i := sort.Search(len(rooms), func(i int) bool { return rooms[i].Room >= room }); i < len(rooms) && rooms[i].Room == room {
		v.Room = rooms[i].Participants
	}
	return v, kids
}

// selfURL is the node's HTTP base as browsers reach it.
func (j *joiner) selfURL() string {
	switch {
	case j.n.sfu == nil:
		return "" // a forwarding node answers /api/join but is not joined
	case j.cfg.PublicURL != "":
		return j.cfg.PublicURL
	}
	return j.n.URL()
}
