package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// A synthetic client survives as the browser client does
// (web/static/qrtn-reconnect.js, signaling/PROTOCOL.md "Resume and
// migration"): an ICE restart when a connection goes disconnected or
// failed; a resume with its token when the websocket drops; a move to
// another access node (the one a draining node names, else the node's
// alternatives, else the same node again) when its node is gone, refuses
// the resume, or asks it to move. A move is make before break: the old
// link carries media until the new one delivers what it did, and the old
// node has let go of the client's old tracks (handover.go). Each recovery is
// recorded with the media gap the client saw around it.

// Protocol codes the client branches on.
const (
	codeReplaced      = "replaced"
	codeBadResume     = "bad_resume"
	codeResumeExpired = "resume_expired"
)

const (
	iceRestartCheck = 6 * time.Second  // a restart must connect within this, or another is made
	iceMaxRestarts  = 3                // then the client moves
	moveDeadline    = 60 * time.Second // nodes are tried this long
	connectWait     = 5 * time.Second  // a new link's connections may take this long to connect
)

// recovery is a client's survival state, under client.mu.
type recovery struct {
	token    string        // the latest resume token
	grace    time.Duration // the node's grace period
	alts     []string      // other access nodes to move to, best first
	node     string        // the node joined now
	busy     bool          // a resume or a move is running
	closing  bool          // close was called
	old      []*link       // links a move is leaving
	iceTries int           // restarts in the current ICE episode
	iceAt    time.Time     // when the current ICE episode began
	records  []Reconnect
}

// Reconnect is one recovery of a client.
type Reconnect struct {
	Kind   string    `json:"kind"` // "ice", "resume" or "migrate"
	At     time.Time `json:"at"`   // the trouble was noticed
	Done   time.Time `json:"done"` // connectivity was back (zero: never)
	Node   string    `json:"node"` // the node joined after it
	Reason string    `json:"reason"`
	// GapMs is the longest time any remote participant's media did not
	// arrive around it (filled in by reports).
	GapMs float64 `json:"gap_ms"`
}

type resumeInfo struct {
	Token   string `json:"token"`
	GraceMs int64  `json:"grace_ms"`
}

type alternative struct {
	Node string `json:"node"`
	URL  string `json:"url"`
}

// takeResume keeps the token, grace, alternatives and node name of a
// joined, resumed or resume_token message.
func (c *client) takeResume(m message) {
	var node struct{ Name string }
	_ = json.Unmarshal(m.Node, &node)
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Resume != nil && m.Resume.Token != "" {
		c.rec.token = m.Resume.Token
		c.rec.grace = time.Duration(m.Resume.GraceMs) * time.Millisecond
	}
	if m.Alternatives != nil {
		c.rec.alts = c.rec.alts[:0]
		for _, a := range m.Alternatives {
			c.rec.alts = append(c.rec.alts, a.URL)
		}
	}
	if node.Name != "" {
		c.rec.node = node.Name
	}
}

// asked: the node says to move (`migrate`, a drain).
func (c *client) asked(m message) {
	if c.p.noRecover {
		return
	}
	c.note("asked to move to %s: %s", m.URL, m.Reason)
	go c.move([]string{m.URL}, "asked: "+m.Reason, false, time.Now())
}

// replaced: a newer session of this identity took over; this one ends.
func (c *client) replaced() {
	c.mu.Lock()
	c.rec.closing = true
	c.mu.Unlock()
	c.fail(&ProtocolError{Code: codeReplaced, Message: "replaced by a newer session of this identity"})
}

// dropped is called when one of l's websockets closed.
func (c *client) dropped(l *link, ws *wsConn, err error) {
	l.mu.Lock()
	stale := l.ws != ws || l.closed || l.leaving
	l.mu.Unlock()
	c.mu.Lock()
	stale = stale || c.cur != l || c.rec.closing || c.p.noRecover
	c.mu.Unlock()
	if stale {
		return
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch {
		case ce.Text == codeReplaced:
			c.replaced()
			return
		case ce.Code == websocket.CloseGoingAway:
			go c.move(nil, "the node is going away", true, time.Now())
			return
		}
	}
	go c.resume(l)
}

// begin marks a resume or move as running; false if one already is.
func (c *client) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.busy || c.rec.closing {
		return false
	}
	c.rec.busy = true
	return true
}

func (c *client) end() {
	c.mu.Lock()
	c.rec.busy = false
	c.mu.Unlock()
}

func (c *client) record(r Reconnect) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Node = c.rec.node
	if len(c.rec.records) < 100 {
		c.rec.records = append(c.rec.records, r)
	}
}

// reconnects returns the client's recoveries so far.
func (c *client) reconnects() []Reconnect {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Reconnect(nil), c.rec.records...)
}

// resume reconnects l to its node with the resume token, with backoff,
// within the grace period; when the node refuses or cannot be reached, the
// client moves.
func (c *client) resume(l *link) {
	if !c.begin() {
		return
	}
	at := time.Now()
	c.mu.Lock()
	grace, token := c.rec.grace, c.rec.token
	c.mu.Unlock()
	deadline := at.Add(max(grace-500*time.Millisecond, time.Second))
	outcome := "timed out"
	var delay time.Duration
	for unreachable := 0; time.Now().Before(deadline); {
		if sleep(c.ctx, delay) != nil {
			c.end()
			return
		}
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		_, err := l.open(ctx, message{Type: "resume", Token: token}, func(m message) error {
			c.resumed(l, m)
			return nil
		})
		cancel()
		if err == nil {
			outcome = "resumed"
			break
		}
		var pe *ProtocolError
		if errors.As(err, &pe) {
			if pe.Code == codeBadResume || pe.Code == codeResumeExpired {
				outcome = "refused"
				break
			}
		} else if unreachable++; unreachable >= 2 {
			outcome = "unreachable" // a node that is gone refuses connections at once
			break
		}
		delay = min(2*time.Second, max(2*delay, 250*time.Millisecond))
	}
	c.end()
	switch outcome {
	case "resumed":
		c.record(Reconnect{Kind: "resume", At: at, Done: time.Now(), Reason: "websocket dropped"})
		c.checkICE(l)
	case "unreachable":
		c.move(nil, "node unreachable", true, at)
	default:
		c.move([]string{l.base}, "resume "+outcome, false, at)
	}
}

// resumed brings l up to date after a resume: a publisher offer whose
// answer was lost goes again, and so do the preferences.
func (c *client) resumed(l *link, m message) {
	c.takeResume(m)
	l.mu.Lock()
	offer := l.offer
	l.mu.Unlock()
	if offer != "" {
		_ = l.send(message{Type: "offer", Target: "publisher", SDP: offer})
	}
	c.mu.Lock()
	var prefs []string
	for p := range c.preferred {
		prefs = append(prefs, p)
	}
	c.mu.Unlock()
	for _, p := range prefs {
		_ = l.send(message{Type: "prefer", Participant: jsonString(p), Layer: c.p.prefer})
	}
}

// move joins another node: targets first, then the alternatives, then
// the current node (first when it is not gone), until moveDeadline.
func (c *client) move(targets []string, reason string, gone bool, at time.Time) {
	if !c.begin() {
		return
	}
	defer c.end()
	cur := c.current()
	c.mu.Lock()
	alts := append([]string(nil), c.rec.alts...)
	c.mu.Unlock()
	var bases []string
	add := func(list ...string) {
		for _, b := range list {
			if b != "" && !contains(bases, b) && !(gone && b == cur.base) {
				bases = append(bases, b)
			}
		}
	}
	add(targets...)
	if !gone {
		add(cur.base)
	}
	add(alts...)
	bases = append(bases, cur.base) // the last resort, even when it seemed gone
	deadline := at.Add(moveDeadline)
	var delay time.Duration
	for time.Now().Before(deadline) {
		if sleep(c.ctx, delay) != nil {
			return
		}
		for _, b := range bases {
			err := c.switchTo(b)
			if err == nil {
				c.record(Reconnect{Kind: "migrate", At: at, Done: time.Now(), Reason: reason})
				return
			}
			var pe *ProtocolError
			if errors.As(err, &pe) && pe.Code == codeReplaced {
				return
			}
			c.p.logger.Info("loadtest: move failed", "client", c.p.identity, "to", b, "err", err)
		}
		delay = min(4*time.Second, max(2*delay, 500*time.Millisecond))
	}
	c.record(Reconnect{Kind: "migrate", At: at, Reason: reason + ": no node could be joined"})
	c.fail(errors.New("loadtest: could not reconnect to any node"))
}

// switchTo joins base as the same identity, republishes there, waits for
// the new connections, then lets the old link go (without a leave: the
// room must see a move).
func (c *client) switchTo(base string) error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	_, _, id := c.joinTimes()
	var tok string
	var err error
	if c.p.tokenAt != nil {
		tok, err = c.p.tokenAt(ctx, base, id, c.p.publish)
	} else {
		tok, err = c.p.token(ctx, c.p.identity, c.p.publish)
	}
	if err != nil {
		return err
	}
	nl := newLink(c, base)
	old := c.current()
	old.setLeaving(true)
	_, err = nl.open(ctx, c.joinMessage(tok), func(m message) error {
		c.mu.Lock()
		c.rec.old = append(c.rec.old, old)
		c.mu.Unlock()
		return c.adopt(nl, m)
	})
	if err != nil {
		c.note("join at %s failed: %v", base, err)
		nl.close(false)
		old.setLeaving(false)
		c.mu.Lock()
		if c.cur == nl {
			c.cur = old // accepted, but the new link could not be set up
		}
		c.rec.old = remove(c.rec.old, old)
		c.mu.Unlock()
		return err
	}
	c.note("joined %s", base)
	if c.p.publish {
		err = nl.publish(ctx)
		c.note("published at %s (err %v)", base, err)
	}
	if err == nil {
		overlap := connected(old)
		waitConnected(ctx, nl)
		c.note("new link to %s connected: %v; old link connected: %v", base, connected(nl), overlap)
		if overlap {
			handOver(ctx, old, nl) // handover.go
		}
	}
	old.close(false)
	c.note("old link to %s closed", old.base)
	c.mu.Lock()
	c.rec.old = remove(c.rec.old, old)
	c.mu.Unlock()
	return err
}

// connectionState starts ICE restarts and notices when they worked.
func (c *client) connectionState(l *link, pc *webrtc.PeerConnection, s webrtc.PeerConnectionState) {
	if s == webrtc.PeerConnectionStateConnected {
		l.mu.Lock()
		gen := l.gen
		l.mu.Unlock()
		if gen != nil && pc == l.pub {
			gen.requestKeyframe("") // frames sent before the path worked went nowhere
		}
	}
	c.mu.Lock()
	ignore := c.cur != l || c.rec.closing || c.p.noRecover
	c.mu.Unlock()
	if ignore {
		return
	}
	switch s {
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed:
		go c.restartICE(l)
	case webrtc.PeerConnectionStateConnected:
		c.mu.Lock()
		episode := c.rec.iceTries > 0 && connected(l)
		at := c.rec.iceAt
		if episode {
			c.rec.iceTries = 0
		}
		c.mu.Unlock()
		if episode {
			c.record(Reconnect{Kind: "ice", At: at, Done: time.Now(), Reason: "connection lost"})
		}
	}
}

// restartICE restarts ICE on l's connections that lost it; after
// iceMaxRestarts that did not help, the client moves.
func (c *client) restartICE(l *link) {
	l.mu.Lock()
	pub, sub := l.pub, l.sub
	l.mu.Unlock()
	restartPub, restartSub := pub != nil && lost(pub), sub != nil && lost(sub)
	c.mu.Lock()
	if c.rec.busy || c.rec.closing || c.cur != l || !restartPub && !restartSub {
		c.mu.Unlock()
		return
	}
	if c.rec.iceTries == 0 {
		c.rec.iceAt = time.Now()
	}
	c.rec.iceTries++
	tries, at := c.rec.iceTries, c.rec.iceAt
	c.mu.Unlock()
	if tries > iceMaxRestarts {
		c.mu.Lock()
		c.rec.iceTries = 0
		c.mu.Unlock()
		c.move(nil, "ICE restarts failed", false, at)
		return
	}
	if restartPub {
		ctx, cancel := context.WithTimeout(c.ctx, iceRestartCheck)
		go func() {
			defer cancel()
			if err := l.negotiate(ctx, &webrtc.OfferOptions{ICERestart: true}); err != nil {
				c.p.logger.Info("loadtest: publisher ICE restart", "client", c.p.identity, "err", err)
			}
		}()
	}
	if restartSub {
		_ = l.send(message{Type: "restart_ice", Target: "subscriber"})
	}
	time.AfterFunc(iceRestartCheck, func() {
		if c.ctx.Err() != nil {
			return
		}
		if connected(l) {
			c.mu.Lock()
			c.rec.iceTries = 0 // recovered without a state change to hear
			c.mu.Unlock()
			return
		}
		c.restartICE(l)
	})
}

// checkICE restarts ICE after a resume if a connection lost its path.
func (c *client) checkICE(l *link) {
	if !connected(l) {
		go c.restartICE(l)
	}
}

// isConnected: pc is connected, or was never started (a subscriber
// connection with nothing to receive has no session yet).
func isConnected(pc *webrtc.PeerConnection) bool {
	s := pc.ConnectionState()
	return s == webrtc.PeerConnectionStateConnected || s == webrtc.PeerConnectionStateNew
}

// lost: pc had a path and lost it.
func lost(pc *webrtc.PeerConnection) bool {
	s := pc.ConnectionState()
	return s == webrtc.PeerConnectionStateDisconnected || s == webrtc.PeerConnectionStateFailed
}

// connected: every connection of l is connected (or not started).
func connected(l *link) bool {
	l.mu.Lock()
	pub, sub := l.pub, l.sub
	l.mu.Unlock()
	return (pub == nil || isConnected(pub)) && (sub == nil || isConnected(sub))
}

// waitConnected waits until l's connections are connected or ctx ends.
func waitConnected(ctx context.Context, l *link) {
	deadline := time.Now().Add(connectWait)
	for !connected(l) && time.Now().Before(deadline) {
		if sleep(ctx, 20*time.Millisecond) != nil {
			return
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func remove(list []*link, l *link) []*link {
	out := list[:0]
	for _, x := range list {
		if x != l {
			out = append(out, x)
		}
	}
	return out
}
