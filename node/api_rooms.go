package node

import (
	"context"
	"net/http"
	"slices"
)

// The room API's HTTP handlers (API.md).

// maxRoomName bounds names, as tokens do.
const maxRoomName = 128

func (n *Node) apiListRooms(r *http.Request) (int, any, error) {
	ctx, cancel := apiContext(r)
	defer cancel()
	v, err := n.view(ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"rooms": v.sorted()}, nil
}

func (n *Node) apiGetRoom(r *http.Request) (int, any, error) {
	ctx, cancel := apiContext(r)
	defer cancel()
	v, err := n.view(ctx)
	if err != nil {
		return 0, nil, err
	}
	room := v.rooms[r.PathValue("room")]
	if room == nil {
		return 0, nil, errf(http.StatusNotFound, codeRoomNotFound, "no room %q in the network", r.PathValue("room"))
	}
	return http.StatusOK, room, nil
}

func (n *Node) apiListParticipants(r *http.Request) (int, any, error) {
	_, room, err := n.getRoom(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"participants": room.Participants}, nil
}

func (n *Node) apiGetParticipant(r *http.Request) (int, any, error) {
	ctx, cancel := apiContext(r)
	defer cancel()
	v, err := n.view(ctx)
	if err != nil {
		return 0, nil, err
	}
	_, p, err := v.participant(r.PathValue("room"), r.PathValue("identity"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (n *Node) getRoom(r *http.Request) (*netView, *apiRoom, error) {
	ctx, cancel := apiContext(r)
	defer cancel()
	v, err := n.view(ctx)
	if err != nil {
		return nil, nil, err
	}
	room := v.rooms[r.PathValue("room")]
	if room == nil {
		return nil, nil, errf(http.StatusNotFound, codeRoomNotFound, "no room %q in the network", r.PathValue("room"))
	}
	return v, room, nil
}

// createReq is POST /api/rooms.
type createReq struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	MaxParticipants int    `json:"max_participants"`
	EmptyTimeout    int64  `json:"empty_timeout"`
	Node            string `json:"node"`
}

func (n *Node) apiCreateRoom(r *http.Request) (int, any, error) {
	var req createReq
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case req.Name == "" || len(req.Name) > maxRoomName:
		return 0, nil, errf(http.StatusBadRequest, codeBadRequest, "name must be 1..%d bytes", maxRoomName)
	case req.Mode != "" && req.Mode != "meeting" && req.Mode != "live":
		return 0, nil, errf(http.StatusBadRequest, codeBadRequest, "mode must be meeting or live")
	case req.MaxParticipants < 0 || req.EmptyTimeout < 0 || req.EmptyTimeout > 7*24*3600:
		return 0, nil, errf(http.StatusBadRequest, codeBadRequest, "max_participants must be ≥ 0 and empty_timeout in 0..604800 s")
	}
	if req.EmptyTimeout == 0 {
		req.EmptyTimeout = 300 // an empty created room that closed at once would be useless
	}
	ctx, cancel := apiContext(r)
	defer cancel()
	v, err := n.view(ctx)
	if err != nil {
		return 0, nil, err
	}
	if room := v.rooms[req.Name]; room != nil {
		return 0, nil, errf(http.StatusConflict, codeRoomExists, "room %q is open in the network", req.Name)
	}
	target := req.Node
	switch {
	case target != "" && !slices.Contains(v.access, target):
		return 0, nil, errf(http.StatusNotFound, codeNodeNotFound, "no access node %q in the network", target)
	case target == "" && n.sfu != nil:
		target = n.cfg.Name
	case target == "" && len(v.access) > 0:
		target = v.access[0]
	case target == "":
		return 0, nil, errf(http.StatusConflict, codeNotAccess, "no access node is known to host the room")
	}
	res, err := n.run(ctx, target, opCreate, cmdBody{Room: req.Name, Mode: req.Mode, MaxParticipants: req.MaxParticipants, EmptyTimeout: req.EmptyTimeout})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, res.Room, nil
}

func (n *Node) apiCloseRoom(r *http.Request) (int, any, error) {
	v, room, err := n.getRoom(r)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := apiContext(r)
	defer cancel()
	total, err := n.onEveryNode(ctx, v, room, opClose, cmdBody{Room: room.Name})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"room": room.Name, "removed": total}, nil
}

// dataReq is POST /api/rooms/{room}/data.
type dataReq struct {
	Topic      string   `json:"topic"`
	Payload    string   `json:"payload"`
	Identities []string `json:"identities"`
}

// maxDataPayload bounds an operator's message.
const maxDataPayload = 16 << 10

func (n *Node) apiSendData(r *http.Request) (int, any, error) {
	var req dataReq
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Payload == "" || len(req.Payload) > maxDataPayload || len(req.Topic) > maxRoomName || len(req.Identities) > 1000 {
		return 0, nil, errf(http.StatusBadRequest, codeBadRequest, "payload must be 1..%d bytes, topic at most %d, at most 1000 identities", maxDataPayload, maxRoomName)
	}
	v, room, err := n.getRoom(r)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := apiContext(r)
	defer cancel()
	total, err := n.onEveryNode(ctx, v, room, opData, cmdBody{Room: room.Name, Topic: req.Topic, Payload: req.Payload, Identities: req.Identities})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"room": room.Name, "delivered": total}, nil
}

// onEveryNode runs op on every node of a room, in parallel, and adds up
// what they affected. A node that lost the room meanwhile counts as 0.
func (n *Node) onEveryNode(ctx context.Context, v *netView, room *apiRoom, op string, c cmdBody) (int, error) {
	type out struct {
		res *cmdResult
		err error
	}
	ch := make(chan out, len(room.Nodes))
	for _, nd := range room.Nodes {
		go func() {
			res, err := n.run(ctx, nd.Name, op, c)
			ch <- out{res, err}
		}()
	}
	total := 0
	var firstErr error
	for range room.Nodes {
		o := <-ch
		if ae, ok := o.err.(*apiError); ok && ae.Code == codeRoomNotFound {
			continue
		}
		if o.err != nil && firstErr == nil {
			firstErr = o.err
		}
		if o.res != nil {
			total += o.res.Affected
		}
	}
	return total, firstErr
}

// participantReq is the body of mute and permissions.
type participantReq struct {
	Track     string `json:"track"`
	Kind      string `json:"kind"`
	Muted     *bool  `json:"muted"`
	Publish   *bool  `json:"publish"`
	Subscribe *bool  `json:"subscribe"`
	Data      *bool  `json:"data"`
}

// apiParticipantOp answers remove, mute and permissions: the participant's
// own node acts.
func (n *Node) apiParticipantOp(op string) handler {
	return func(r *http.Request) (int, any, error) {
		c := cmdBody{Room: r.PathValue("room"), Identity: r.PathValue("identity")}
		if op != opRemove {
			var req participantReq
			if err := decodeBody(r, &req); err != nil {
				return 0, nil, err
			}
			if err := checkParticipantReq(op, req); err != nil {
				return 0, nil, err
			}
			c.Track, c.Kind, c.Muted = req.Track, req.Kind, req.Muted
			c.Publish, c.Subscribe, c.Data = req.Publish, req.Subscribe, req.Data
		}
		ctx, cancel := apiContext(r)
		defer cancel()
		v, err := n.view(ctx)
		if err != nil {
			return 0, nil, err
		}
		_, p, err := v.participant(c.Room, c.Identity)
		if err != nil {
			return 0, nil, err
		}
		res, err := n.run(ctx, p.Node, op, c)
		if err != nil {
			return 0, nil, err
		}
		out := map[string]any{"room": c.Room, "identity": c.Identity, "node": res.Node}
		if res.Perms != nil {
			out["permissions"] = map[string]bool{"publish": res.Perms.Publish, "subscribe": res.Perms.Subscribe, "data": res.Perms.Data}
		}
		return http.StatusOK, out, nil
	}
}

func checkParticipantReq(op string, req participantReq) error {
	switch op {
	case opMute:
		if req.Muted == nil || (req.Track == "" && req.Kind != "audio" && req.Kind != "video") || req.Publish != nil || req.Subscribe != nil || req.Data != nil {
			return errf(http.StatusBadRequest, codeBadRequest, `mute needs "muted" and a "track" ID or a "kind" (audio|video)`)
		}
	case opPermissions:
		if req.Publish == nil && req.Subscribe == nil && req.Data == nil || req.Muted != nil || req.Track != "" || req.Kind != "" {
			return errf(http.StatusBadRequest, codeBadRequest, `permissions needs at least one of "publish", "subscribe", "data"`)
		}
	}
	return nil
}
