package signaling

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu"
	"golang.org/x/time/rate"
)

// writeWait bounds one websocket write: a client that does not read is
// dropped rather than holding the node's goroutine.
const writeWait = 10 * time.Second

// conn is one client websocket. The reader runs on the HTTP handler's
// goroutine and owns the participant; a writer goroutine owns all writes.
type conn struct {
	s   *Server
	ws  *websocket.Conn
	log *slog.Logger
	lim *rate.Limiter

	out        chan []byte
	closeOnce  sync.Once
	closing    chan struct{}
	closeCode  int
	closeText  string
	writerDone chan struct{}

	// sess is the participant's session once joined or resumed (set by
	// the reader, read by the writer for token refreshes).
	sess atomic.Pointer[session]
	// violated: the node closed the connection for a protocol violation;
	// its participant leaves at once instead of being held.
	violated atomic.Bool

	// joining is called when the client asks to join or resume: the
	// connection no longer counts against its address's pending cap.
	joining func()

	// Reader goroutine only.
	p      *sfu.Participant
	grant  Grant
	joined bool
	bad    int
}

func newConn(s *Server, ws *websocket.Conn) *conn {
	return &conn{
		s: s, ws: ws, log: s.log.With("remote", ws.RemoteAddr().String()),
		lim: rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst),
		out: make(chan []byte, s.cfg.SendQueue), joining: func() {},
		closing: make(chan struct{}), writerDone: make(chan struct{}),
	}
}

func (c *conn) run() {
	go c.writer()
	defer c.cleanup()
	joinTimer := time.AfterFunc(c.s.cfg.JoinTimeout, func() {
		c.fail(CodeNotJoined, "no join within the join timeout", true)
	})
	defer joinTimer.Stop()
	pongWait := 3 * c.s.cfg.PingInterval
	_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		// Read at most one byte past the limit: an oversize frame is never
		// buffered whole.
		b, err := io.ReadAll(io.LimitReader(r, int64(c.s.cfg.MaxFrame)+1))
		if err != nil {
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
		if len(b) > c.s.cfg.MaxFrame {
			drainFrame(c.ws, r)
			c.fail(CodeTooLarge, fmt.Sprintf("frame over %d bytes", c.s.cfg.MaxFrame), true)
			return
		}
		if !c.lim.Allow() {
			c.fail(CodeRateLimited, fmt.Sprintf("more than %g messages/s", c.s.cfg.RateLimit), true)
			return
		}
		if typ != websocket.TextMessage {
			if c.badInput(CodeBadMessage, "binary frame") {
				return
			}
			continue
		}
		if c.handle(b, joinTimer) {
			return
		}
	}
}

// handle dispatches one message and reports whether the connection ends.
func (c *conn) handle(b []byte, joinTimer *time.Timer) (stop bool) {
	typ, msg, err := decode(b)
	if !c.joined {
		jm, ok := msg.(joinMsg)
		rm, resume := msg.(resumeMsg)
		switch {
		case ok:
			joinTimer.Stop()
			c.joining()
			return c.join(jm)
		case resume:
			joinTimer.Stop()
			c.joining()
			return c.resume(rm)
		case typ == "join" || typ == "resume":
			c.fail(CodeBadToken, err.Error(), true)
		default:
			c.fail(CodeNotJoined, "the first message must be join", true)
		}
		return true
	}
	switch {
	case errors.Is(err, errUnknownType):
		return c.badInput(CodeUnknownType, err.Error())
	case errors.Is(err, errBadReport):
		return c.badInput(CodeBadReport, err.Error())
	case err != nil:
		return c.badInput(CodeBadMessage, err.Error())
	}
	switch m := msg.(type) {
	case joinMsg:
		return c.badInput(CodeBadMessage, "already joined")
	case offerMsg:
		if len(m.sources) > 0 {
			c.p.SetSources(m.sources)
		}
		if len(m.backups) > 0 {
			c.p.SetBackups(m.backups)
		}
		ans, err := c.p.HandleOffer(m.sdp)
		if err != nil {
			return c.sfuError(err)
		}
		c.send(sdpOut{Type: "answer", Target: "publisher", SDP: ans})
	case answerMsg:
		if err := c.p.HandleAnswer(m.sdp); err != nil {
			return c.sfuError(err)
		}
	case candidateMsg:
		if err := c.p.AddICECandidate(sfu.Target(m.target), m.candidate); err != nil {
			return c.sfuError(err)
		}
	case preferMsg:
		q := sfu.QualityLarge
		switch m.layer {
		case "small":
			q = sfu.QualitySmall
		case "off":
			q = sfu.QualityOff
		}
		if m.track != "" {
			c.p.PreferTrack(m.track, q)
		} else {
			c.p.Prefer(m.participant, q)
		}
		if m.hasFPS {
			if err := c.p.PreferFrameRate(m.participant, m.track, m.fps); err != nil {
				return c.sfuError(err)
			}
		}
	case muteMsg:
		if !c.grant.Publish {
			c.fail(CodeForbidden, "this token may not publish", false)
			return false
		}
		kind := webrtc.RTPCodecTypeAudio
		if m.kind == "video" {
			kind = webrtc.RTPCodecTypeVideo
		}
		c.p.SetMuted(kind, m.muted)
	case leaveMsg:
		c.sess.Load().leave()
		c.shutdown(websocket.CloseNormalClosure, "left")
		return true
	case restartMsg:
		if err := c.p.RestartICE(sfu.Target(m.target)); err != nil {
			return c.sfuError(err)
		}
	case resumeMsg:
		return c.badInput(CodeBadMessage, "already joined")
	case qualityMsg:
		c.quality(m)
	case subscribeMsg:
		c.subscribe(m)
	}
	return false
}

func (c *conn) join(m joinMsg) bool {
	g, err := c.s.verify.Verify(m.token, time.Now())
	if err != nil {
		c.fail(CodeBadToken, err.Error(), true)
		return true
	}
	if m.room != "" && m.room != g.Room {
		c.fail(CodeBadToken, "the token is for another room", true)
		return true
	}
	if c.s.draining.Load() {
		c.fail(CodeDraining, "this node is draining: join another node", true)
		return true
	}
	// Events queue (attaching) until the session is registered (open).
	se := &session{s: c.s, id: newSessionID(), grant: g, conn: c, attaching: true, latest: map[string][]byte{}, addr: remoteAddr(c.ws)}
	if c.s.cfg.SessionICEServers != nil {
		se.ice = c.s.cfg.SessionICEServers(g)
	}
	p, err := c.s.sfu.Join(g.Room, m.mode, sfu.ParticipantParams{
		ID: g.Identity, Name: g.Name, CanPublish: g.Publish, CanSubscribe: g.Subscribe, OnEvent: se.onEvent,
		Data: m.data && g.Subscribe, ManualSubscribe: m.manual, Codecs: m.codecs})
	switch {
	case errors.Is(err, sfu.ErrRoomFull):
		c.fail(CodeRoomFull, "the room is full", true)
		return true
	case errors.Is(err, sfu.ErrClosed):
		c.fail(CodeInternal, "the node is shutting down", true)
		return true
	case err != nil:
		c.log.Warn("join", "room", g.Room, "identity", g.Identity, "err", err)
		c.fail(CodeInternal, "join failed", false)
		return false
	}
	se.p = p
	p.SetAttached(true)
	c.sess.Store(se)
	c.s.register(se)
	c.s.qStarted(se)
	c.p, c.grant, c.joined = p, g, true
	c.log = c.log.With("room", g.Room, "identity", g.Identity)
	se.open()
	return false
}

// sfuError answers a failed call: forbidden for grants, bad_message for
// input the SFU could not use (SDP, candidates, an answer without offer).
func (c *conn) sfuError(err error) bool {
	if errors.Is(err, sfu.ErrForbidden) {
		c.fail(CodeForbidden, "not permitted by this token", false)
		return false
	}
	if errors.Is(err, sfu.ErrClosed) {
		c.shutdown(websocket.CloseNormalClosure, "participant closed")
		return true
	}
	return c.badInput(CodeBadMessage, err.Error())
}

// badInput reports a bad_message or unknown_type and closes the connection
// at the limit.
func (c *conn) badInput(code, msg string) bool {
	c.bad++
	if c.bad >= c.s.cfg.MaxBadMessages {
		c.fail(code, msg+fmt.Sprintf(" (%d bad messages: closing)", c.bad), true)
		return true
	}
	c.fail(code, msg, false)
	return false
}

func (c *conn) send(v any) { c.enqueue(mustJSON(v)) }

// fail sends an error message, and closes the connection after it if asked.
func (c *conn) fail(code, msg string, closeConn bool) {
	c.log.Debug("client error", "code", code, "msg", msg)
	c.enqueue(encodeError(code, msg))
	if closeConn {
		c.violated.Store(true)
		c.shutdown(websocket.ClosePolicyViolation, code)
	}
}

// enqueue queues a frame; a client too slow to drain its queue is dropped.
func (c *conn) enqueue(b []byte) {
	select {
	case <-c.closing:
		return
	default:
	}
	select {
	case c.out <- b:
	default:
		c.shutdown(websocket.CloseTryAgainLater, "too slow")
	}
}

// shutdown makes the writer flush, send a close frame and close the socket.
func (c *conn) shutdown(code int, text string) {
	if len(text) > 120 { // a close frame's reason must fit in 123 bytes
		text = text[:120]
	}
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.closing)
	})
}

func (c *conn) writer() {
	defer close(c.writerDone)
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	write := func(b []byte) error {
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		return c.ws.WriteMessage(websocket.TextMessage, b)
	}
	for {
		select {
		case b := <-c.out:
			if write(b) != nil {
				_ = c.ws.Close()
				return
			}
		case <-ping.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				_ = c.ws.Close()
				return
			}
			if se := c.sess.Load(); se != nil {
				if b := se.tokenFrame(); b != nil && write(b) != nil {
					_ = c.ws.Close()
					return
				}
			}
		case <-c.closing:
			for flushed := false; !flushed; {
				select {
				case b := <-c.out:
					if write(b) != nil {
						flushed = true
					}
				default:
					flushed = true
				}
			}
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeText), time.Now().Add(writeWait))
			_ = c.ws.Close()
			return
		}
	}
}

// cleanup ends the writer. A participant whose client went without a
// leave is held by its session for the grace period.
func (c *conn) cleanup() {
	if se := c.sess.Load(); se != nil {
		se.detach(c, c.violated.Load())
	}
	c.shutdown(websocket.CloseNormalClosure, "")
	<-c.writerDone
	_ = c.ws.Close()
}

// drainFrame reads and discards what is left of an oversize frame, bounded
// in bytes and time, before the connection closes. Closing a TCP socket with
// unread data makes the kernel answer with a reset, which can destroy the
// error frame before the client reads it; draining first lets the close be
// a clean FIN, so the client learns why it was dropped.
func drainFrame(ws *websocket.Conn, r io.Reader) {
	_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.CopyN(io.Discard, r, maxDrain)
}

// maxDrain bounds what drainFrame reads of one oversize frame.
const maxDrain = 1 << 20
