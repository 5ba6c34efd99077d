package trunk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// The driver's part of operator commands (command.go has the Core's): it
// runs the node's handler for commands addressed here, on goroutines it
// owns, and matches replies to the callers waiting in Command.

// CommandHandler carries out a command addressed to this node and returns
// an HTTP status and a JSON body. It runs on its own goroutine.
type CommandHandler func(op string, body []byte) (status int, reply []byte)

// ErrNoRoute: a command's target did not answer in time (unknown, or
// unreachable through the trunks).
var ErrNoRoute = errors.New("trunk: the node did not answer")

// maxCommandsRunning bounds the handlers running at once on a node.
const maxCommandsRunning = 64

// adminSide is the driver's state of operator commands, shared with HTTP
// goroutines (under mu).
type adminSide struct {
	t       *Trunk
	mu      sync.Mutex
	handler CommandHandler
	pending map[uint64]chan Reply
	running int
	wg      sync.WaitGroup
	nextID  atomic.Uint64
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
	cmd := Command{ID: a.nextID.Add(1), From: t.name, To: to, Op: op, Body: body}
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
	t.calls.push(func(now time.Time) { t.core.SendCommand(now, cmd) })
	select {
	case r := <-ch:
		return r.Status, r.Body, nil
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("%w: %s: %w", ErrNoRoute, to, ctx.Err())
	case <-t.stop:
		return 0, nil, fmt.Errorf("%w: %s: trunk closed", ErrNoRoute, to)
	}
}

// Command runs a command addressed here (CommandSink; on the loop).
func (a *adminSide) Command(cmd Command) {
	t := a.t
	reply := func(status int, body []byte) {
		r := Reply{ID: cmd.ID, From: t.name, To: cmd.From, Status: status, Body: body}
		t.calls.push(func(now time.Time) { t.core.SendReply(now, r) })
	}
	a.mu.Lock()
	h := a.handler
	busy := a.running >= maxCommandsRunning
	if h != nil && !busy {
		a.running++
		a.wg.Add(1)
	}
	a.mu.Unlock()
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

// Reply hands a reply to the caller waiting for it (CommandSink; on the loop).
func (a *adminSide) Reply(r Reply) {
	a.mu.Lock()
	ch := a.pending[r.ID]
	a.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
}

// Network reads the current view on the loop (fresh, unlike Status).
func (t *Trunk) Network(ctx context.Context) (Network, error) {
	ch := make(chan Network, 1)
	t.calls.push(func(time.Time) { ch <- t.core.Network() })
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

// roomOpts describes a room an operator created and the SFU still holds.
func roomOpts(r *sfu.Room) *RoomOpts {
	if !r.Created() {
		return nil
	}
	o := r.Options()
	return &RoomOpts{MaxParticipants: o.MaxParticipants, EmptyTimeoutMs: o.EmptyTimeout.Milliseconds()}
}
