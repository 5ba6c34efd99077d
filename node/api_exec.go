package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
)

// Commands carried out by the node that must act: on its own SFU when the
// API call arrived here, or arriving over a trunk (trunk.Command) from the
// node that took the call. Bodies are JSON; so are answers, with the
// errors of API.md.

// The operations a node carries out for the room API.
const (
	opCreate      = "create"
	opClose       = "close"
	opRemove      = "remove"
	opMute        = "mute"
	opPermissions = "permissions"
	opData        = "data"
)

// cmdBody is every operation's body; each uses some fields.
type cmdBody struct {
	Room     string `json:"room"`
	Identity string `json:"identity,omitempty"`
	// create
	Mode            string `json:"mode,omitempty"`
	MaxParticipants int    `json:"max_participants,omitempty"`
	EmptyTimeout    int64  `json:"empty_timeout,omitempty"` // seconds
	// mute: one track by ID, or every track of a kind
	Track string `json:"track,omitempty"`
	Kind  string `json:"kind,omitempty"`
	Muted *bool  `json:"muted,omitempty"`
	// permissions: nil leaves a grant as it is
	Publish   *bool `json:"publish,omitempty"`
	Subscribe *bool `json:"subscribe,omitempty"`
	Data      *bool `json:"data,omitempty"`
	// data
	Topic      string   `json:"topic,omitempty"`
	Payload    string   `json:"payload,omitempty"`
	Identities []string `json:"identities,omitempty"`
}

// cmdResult is what a node answers for one operation.
type cmdResult struct {
	Node     string           `json:"node"`
	Affected int              `json:"affected"`
	Room     *apiRoom         `json:"room,omitempty"`
	Perms    *sfu.Permissions `json:"permissions,omitempty"`
}

// handleCommand is the trunk's CommandHandler: a command from another node.
func (n *Node) handleCommand(op string, body []byte) (int, []byte) {
	var c cmdBody
	if err := json.Unmarshal(body, &c); err != nil {
		return encodeResult(0, nil, errf(http.StatusBadRequest, codeBadRequest, "command body: %v", err))
	}
	res, err := n.exec(op, c)
	return encodeResult(http.StatusOK, res, err)
}

func encodeResult(status int, res *cmdResult, err error) (int, []byte) {
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errf(http.StatusInternalServerError, codeInternal, "%v", err)
		}
		b, _ := json.Marshal(map[string]*apiError{"error": ae})
		return ae.Status, b
	}
	b, _ := json.Marshal(res)
	return status, b
}

// exec carries out one operation on this node's SFU.
func (n *Node) exec(op string, c cmdBody) (*cmdResult, error) {
	if n.sfu == nil {
		return nil, errf(http.StatusConflict, codeNotAccess, "node %s is a forwarding node: it has no rooms", n.cfg.Name)
	}
	res := &cmdResult{Node: n.cfg.Name}
	if op == opCreate {
		return res, n.execCreate(c, res)
	}
	r := n.sfu.Room(c.Room)
	if r == nil {
		return nil, errf(http.StatusNotFound, codeRoomNotFound, "no room %q on node %s", c.Room, n.cfg.Name)
	}
	switch op {
	case opClose:
		res.Affected = r.Close()
		return res, nil
	case opData:
		res.Affected = r.SendData(c.Topic, c.Payload, c.Identities)
		return res, nil
	}
	p := r.Participant(c.Identity)
	if p == nil || p.Remote() {
		return nil, errf(http.StatusNotFound, codePartNotFound, "no participant %q in room %q on node %s", c.Identity, c.Room, n.cfg.Name)
	}
	res.Affected = 1
	switch op {
	case opRemove:
		p.Remove()
		return res, nil
	case opMute:
		return res, execMute(p, c)
	case opPermissions:
		pm := p.Permissions()
		setIf(&pm.Publish, c.Publish)
		setIf(&pm.Subscribe, c.Subscribe)
		setIf(&pm.Data, c.Data)
		if err := p.SetPermissions(pm); err != nil {
			if errors.Is(err, sfu.ErrNoSubscriber) {
				return nil, errf(http.StatusConflict, codeNeedsRejoin, "%v", err)
			}
			return nil, err
		}
		res.Perms = &pm
		return res, nil
	}
	return nil, errf(http.StatusBadRequest, codeBadRequest, "unknown operation %q", op)
}

func setIf(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func (n *Node) execCreate(c cmdBody, res *cmdResult) error {
	r, err := n.sfu.CreateRoom(c.Room, sfu.RoomOptions{Mode: c.Mode, MaxParticipants: c.MaxParticipants,
		EmptyTimeout: time.Duration(c.EmptyTimeout) * time.Second})
	switch {
	case errors.Is(err, sfu.ErrRoomExists):
		return errf(http.StatusConflict, codeRoomExists, "room %q is open on node %s", c.Room, n.cfg.Name)
	case errors.Is(err, sfu.ErrClosed):
		return errf(http.StatusServiceUnavailable, codeUnavailable, "the node is shutting down")
	case err != nil:
		return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	o := r.Options()
	res.Affected = 1
	res.Room = &apiRoom{Name: r.Name(), Mode: r.Mode(), MaxParticipants: o.MaxParticipants, EmptyTimeout: int64(o.EmptyTimeout / time.Second),
		Nodes: []apiNode{{Name: n.cfg.Name, Region: n.cfg.Region}}, Participants: []apiParticipant{}}
	return nil
}

func execMute(p *sfu.Participant, c cmdBody) error {
	muted := *c.Muted
	if c.Track != "" {
		if err := p.MuteTrack(c.Track, muted); err != nil {
			return errf(http.StatusNotFound, codeTrackNotFound, "participant %q has no track %q", c.Identity, c.Track)
		}
		return nil
	}
	kind := webrtc.RTPCodecTypeAudio
	if c.Kind == "video" {
		kind = webrtc.RTPCodecTypeVideo
	}
	p.MuteKind(kind, muted)
	return nil
}

// run carries out op on node target: here, or over the trunks.
func (n *Node) run(ctx context.Context, target, op string, c cmdBody) (*cmdResult, error) {
	if target == n.cfg.Name {
		return n.exec(op, c)
	}
	if n.trunk == nil {
		return nil, errf(http.StatusNotFound, codeNodeNotFound, "no node %q (this node has no trunks)", target)
	}
	body, _ := json.Marshal(c)
	status, reply, err := n.trunk.Command(ctx, target, op, body)
	if err != nil {
		return nil, errf(http.StatusGatewayTimeout, codeNodeUnreachable, "%v", err)
	}
	if status >= 300 {
		var e struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(reply, &e) != nil || e.Error == nil {
			return nil, errf(http.StatusBadGateway, codeNodeUnreachable, "node %s answered %d", target, status)
		}
		e.Error.Status = status
		return nil, e.Error
	}
	var res cmdResult
	if err := json.Unmarshal(reply, &res); err != nil {
		return nil, errf(http.StatusBadGateway, codeNodeUnreachable, "node %s: bad reply: %v", target, err)
	}
	return &res, nil
}
