package trunk

import (
	"encoding/json"
	"errors"
	"time"
)

// Operators' commands (the room API, node/API.md) reach the node that must
// act over the trunks: a `cmd` control message travels to its target node
// and a `cmd_reply` comes back (PROTOCOL.md, "Operator commands"). Both
// are flooded like link state, hop by hop, with duplicates dropped, so
// they need no route and arrive while any path is up. The Core carries
// them opaquely; the driver (admin.go) runs the node's handler and waits
// for replies.

// Command asks node To to carry out an operator's command.
type Command struct {
	ID   uint64          `json:"id"`
	From string          `json:"from"`
	To   string          `json:"to"`
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Reply answers Command ID, from the node that acted back to From.
type Reply struct {
	ID     uint64          `json:"id"`
	From   string          `json:"from"` // the node that acted
	To     string          `json:"to"`   // the node that asked
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// RoomOpts are an operator's options of a room held open by its origin.
type RoomOpts struct {
	MaxParticipants int   `json:"max,omitempty"`
	EmptyTimeoutMs  int64 `json:"empty_timeout_ms,omitempty"`
}

// live: a record with participants, or an operator's held room; anything
// else is a tombstone.
func (rs *RoomState) live() bool { return len(rs.Participants) > 0 || rs.Opts != nil }

// maxCommandBody bounds a command's or reply's body.
const maxCommandBody = 64 << 10

func (c *Command) validate() error {
	if c.From == "" || c.To == "" || c.Op == "" || len(c.Body) > maxCommandBody {
		return errors.New("command without from, to or op, or too large")
	}
	return checkNames(c.From, c.To, c.Op)
}

func (r *Reply) validate() error {
	if r.From == "" || r.To == "" || r.Status < 100 || r.Status > 599 || len(r.Body) > maxCommandBody {
		return errors.New("reply without from or to, bad status or too large")
	}
	return checkNames(r.From, r.To)
}

// CommandSink takes the commands addressed to this node and the replies to
// its own commands. The Core calls it from the goroutine that drives it;
// it must not block or call back into the Core.
type CommandSink interface {
	Command(Command)
	Reply(Reply)
}

// The duplicate filter's memory: an ID is remembered this long, for at most
// maxSeen IDs (beyond, new commands are dropped and counted).
const (
	seenTTL = 30 * time.Second
	maxSeen = 1 << 14
)

// cmdState is the Core's part of operator commands: the duplicate filter,
// where commands go, and the options of rooms this node holds open.
type cmdState struct {
	sink    CommandSink
	seen    map[seenKey]time.Time
	dropped uint64
	held    map[string]*RoomOpts // by room
}

type seenKey struct {
	from  string
	id    uint64
	reply bool
}

// SetCommandSink installs where commands addressed here, and replies to
// this node's commands, go.
func (c *Core) SetCommandSink(s CommandSink) { c.cmd.sink = s }

// SendCommand floods a command of this node towards its target.
func (c *Core) SendCommand(now time.Time, cmd Command) {
	c.now = now
	c.markSeen(now, seenKey{cmd.From, cmd.ID, false})
	c.flood("", message{Command: &cmd})
}

// SendReply floods this node's reply towards the node that asked.
func (c *Core) SendReply(now time.Time, r Reply) {
	c.now = now
	c.markSeen(now, seenKey{r.From, r.ID, true})
	c.flood("", message{Reply: &r})
}

// markSeen records a command or reply and reports whether it is new.
func (c *Core) markSeen(now time.Time, k seenKey) bool {
	s := &c.cmd
	if s.seen == nil {
		s.seen = map[seenKey]time.Time{}
	}
	if _, ok := s.seen[k]; ok {
		return false
	}
	if len(s.seen) >= maxSeen {
		for sk, at := range s.seen {
			if now.Sub(at) > seenTTL {
				delete(s.seen, sk)
			}
		}
		if len(s.seen) >= maxSeen {
			s.dropped++
			return false
		}
	}
	s.seen[k] = now
	return true
}

// receiveCommand hands a command addressed here to the sink, or passes it on.
func (c *Core) receiveCommand(now time.Time, from string, cmd Command) {
	if cmd.From == c.cfg.Name || !c.markSeen(now, seenKey{cmd.From, cmd.ID, false}) {
		return
	}
	if cmd.To != c.cfg.Name {
		c.flood(from, message{Command: &cmd})
		return
	}
	if c.cmd.sink != nil {
		c.cmd.sink.Command(cmd)
	}
}

// receiveReply hands a reply to this node's command to the sink, or passes
// it on.
func (c *Core) receiveReply(now time.Time, from string, r Reply) {
	if !c.markSeen(now, seenKey{r.From, r.ID, true}) {
		return
	}
	if r.To != c.cfg.Name {
		c.flood(from, message{Reply: &r})
		return
	}
	if c.cmd.sink != nil {
		c.cmd.sink.Reply(r)
	}
}

// SetRoomOpts records an operator's options of a room this node holds
// open (nil: it no longer does); the next SetRoom announces them.
func (c *Core) SetRoomOpts(room string, o *RoomOpts) {
	if c.cmd.held == nil {
		c.cmd.held = map[string]*RoomOpts{}
	}
	if o == nil {
		delete(c.cmd.held, room)
		return
	}
	c.cmd.held[room] = o
}

// Network is the flooded view of the network at one moment: every node's
// link-state summary and every live room record.
type Network struct {
	Self  string
	Nodes []NodeStatus
	Rooms []RoomState
}

// Network returns the current view.
func (c *Core) Network() Network {
	nw := Network{Self: c.cfg.Name}
	for _, ls := range c.ls.all() {
		nw.Nodes = append(nw.Nodes, NodeStatus{Name: ls.Origin, Region: ls.Region, Role: ls.Role, Load: ls.Load,
			HTTP: ls.HTTP, Self: ls.Origin == c.cfg.Name})
	}
	for _, rs := range c.rooms.all() {
		if rs.live() {
			nw.Rooms = append(nw.Rooms, rs)
		}
	}
	return nw
}
