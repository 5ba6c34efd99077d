package trunk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// Operators' commands (the room API, node/API.md) reach the node that must
// act over the trunks: a `cmd` control message travels to its target node
// and a `cmd_reply` comes back (PROTOCOL.md, "Operator commands"). Both
// are flooded like link state, hop by hop, with duplicates dropped, so
// they need no route and arrive while any path is up. The trunk carries
// them opaquely: the node's handler interprets op and body.

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

// roomOpts describes a room an operator created and the SFU still holds.
func roomOpts(r *sfu.Room) *RoomOpts {
	if !r.Created() {
		return nil
	}
	o := r.Options()
	return &RoomOpts{MaxParticipants: o.MaxParticipants, EmptyTimeoutMs: o.EmptyTimeout.Milliseconds()}
}

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

// CommandHandler carries out a command addressed to this node and returns
// an HTTP status and a JSON body. It runs on its own goroutine.
type CommandHandler func(op string, body []byte) (status int, reply []byte)

// ErrNoRoute: a command's target did not answer in time (unknown, or
// unreachable through the trunks).
var ErrNoRoute = errors.New("trunk: the node did not answer")

// Bounds of the command machinery: commands in flight here, and the
// duplicate filter's memory.
const (
	maxCommandsRunning = 64
	seenTTL            = 30 * time.Second
	maxSeen            = 1 << 14
)

// adminSide is the state of operator commands. handler, pending and
// running are shared with HTTP goroutines (under mu); seen belongs to the
// loop.
type adminSide struct {
	mu      sync.Mutex
	handler CommandHandler
	pending map[uint64]chan Reply
	running int
	wg      sync.WaitGroup
	nextID  atomic.Uint64

	seen    map[seenKey]time.Time
	dropped uint64 // commands or replies not forwarded: the filter was full
}

type seenKey struct {
	from  string
	id    uint64
	reply bool
}

// SetCommandHandler installs the handler of commands addressed to this node.
func (t *Trunk) SetCommandHandler(h CommandHandler) {
	t.admin.mu.Lock()
	t.admin.handler = h
	t.admin.mu.Unlock()
}

// Command sends an operator's command to node to over the trunks and waits
// for its reply, at most until ctx ends (then ErrNoRoute).
func (t *Trunk) Command(ctx context.Context, to, op string, body []byte) (int, []byte, error) {
	a := &t.admin
	if a.nextID.Load() == 0 {
		a.nextID.CompareAndSwap(0, rand.Uint64()>>1|1)
	}
	cmd := Command{ID: a.nextID.Add(1), From: t.cfg.Name, To: to, Op: op, Body: body}
	if err := cmd.validate(); err != nil {
		return 0, nil, fmt.Errorf("trunk: command: %w", err)
	}
	ch := make(chan Reply, 1)
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[uint64]chan Reply{}
	}
	a.pending[cmd.ID] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.pending, cmd.ID)
		a.mu.Unlock()
	}()
	t.calls.push(func(now time.Time) {
		t.markSeen(now, seenKey{cmd.From, cmd.ID, false})
		t.flood("", message{Command: &cmd})
	})
	select {
	case r := <-ch:
		return r.Status, r.Body, nil
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("%w: %s: %w", ErrNoRoute, to, ctx.Err())
	case <-t.stop:
		return 0, nil, fmt.Errorf("%w: %s: trunk closed", ErrNoRoute, to)
	}
}

// markSeen records a command or reply and reports whether it is new.
func (t *Trunk) markSeen(now time.Time, k seenKey) bool {
	a := &t.admin
	if a.seen == nil {
		a.seen = map[seenKey]time.Time{}
	}
	if _, ok := a.seen[k]; ok {
		return false
	}
	if len(a.seen) >= maxSeen {
		for sk, at := range a.seen {
			if now.Sub(at) > seenTTL {
				delete(a.seen, sk)
			}
		}
		if len(a.seen) >= maxSeen {
			a.dropped++
			return false
		}
	}
	a.seen[k] = now
	return true
}

// receiveCommand runs a command addressed here, or passes it on.
func (t *Trunk) receiveCommand(now time.Time, from string, cmd Command) {
	if cmd.From == t.cfg.Name || !t.markSeen(now, seenKey{cmd.From, cmd.ID, false}) {
		return
	}
	if cmd.To != t.cfg.Name {
		t.flood(from, message{Command: &cmd})
		return
	}
	a := &t.admin
	a.mu.Lock()
	h := a.handler
	busy := a.running >= maxCommandsRunning
	if h != nil && !busy {
		a.running++
		a.wg.Add(1)
	}
	a.mu.Unlock()
	reply := func(status int, body []byte) {
		r := Reply{ID: cmd.ID, From: t.cfg.Name, To: cmd.From, Status: status, Body: body}
		t.calls.push(func(now time.Time) {
			t.markSeen(now, seenKey{r.From, r.ID, true})
			t.flood("", message{Reply: &r})
		})
	}
	switch {
	case h == nil:
		reply(501, []byte(`{"error":{"code":"not_supported","message":"this node takes no commands"}}`))
		return
	case busy:
		reply(503, []byte(`{"error":{"code":"busy","message":"too many commands in flight on the node"}}`))
		return
	}
	go func() {
		defer a.wg.Done()
		status, body := h(cmd.Op, cmd.Body)
		if len(body) > maxCommandBody {
			status, body = 500, []byte(`{"error":{"code":"internal","message":"reply too large"}}`)
		}
		a.mu.Lock()
		a.running--
		a.mu.Unlock()
		reply(status, body)
	}()
}

// receiveReply hands a reply to the waiting Command, or passes it on.
func (t *Trunk) receiveReply(from string, r Reply) {
	if !t.markSeen(time.Now(), seenKey{r.From, r.ID, true}) {
		return
	}
	if r.To != t.cfg.Name {
		t.flood(from, message{Reply: &r})
		return
	}
	t.admin.mu.Lock()
	ch := t.admin.pending[r.ID]
	t.admin.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
}

// Network is the flooded view of the network at one moment: every node's
// link-state summary and every live room record.
type Network struct {
	Self  string
	Nodes []NodeStatus
	Rooms []RoomState
}

// Network reads the current view on the loop (fresh, unlike Status).
func (t *Trunk) Network(ctx context.Context) (Network, error) {
	ch := make(chan Network, 1)
	t.calls.push(func(time.Time) {
		nw := Network{Self: t.cfg.Name}
		for _, ls := range t.ls.all() {
			nw.Nodes = append(nw.Nodes, NodeStatus{Name: ls.Origin, Region: ls.Region, Role: ls.Role, Load: ls.Load,
				HTTP: ls.HTTP, Self: ls.Origin == t.cfg.Name})
		}
		for _, rs := range t.rooms.all() {
			if rs.live() {
				nw.Rooms = append(nw.Rooms, rs)
			}
		}
		ch <- nw
	})
	select {
	case nw := <-ch:
		return nw, nil
	case <-ctx.Done():
		return Network{}, ctx.Err()
	case <-t.stop:
		return Network{}, errors.New("trunk: closed")
	}
}

// waitCommands waits for command handlers still running (at Close).
func (t *Trunk) waitCommands() { t.admin.wg.Wait() }
