// Package signaling is the access node's websocket signaling server: it
// implements signaling/PROTOCOL.md, authenticates joins with HS256 JWTs,
// and turns client messages into calls on the sfu and sfu events into
// messages. It protects the node from its clients: oversize frames,
// floods, malformed or unknown messages and bad tokens get the documented
// error codes and are rate limited or disconnected. It knows the sfu's
// API and nothing of RTP or QRTP.
package signaling

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/qrtn/qrtn/sfu"
)

// Config configures the server. Zero fields take the protocol's defaults.
type Config struct {
	// APIKey and APISecret verify tokens (the node fills them in).
	APIKey    string `yaml:"-"`
	APISecret string `yaml:"-"`
	// MaxFrame is the largest client frame accepted (64 KiB).
	MaxFrame int `yaml:"max_frame"`
	// RateLimit and RateBurst: messages per second sustained (50) and the
	// burst allowed above it (200).
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
	// MaxBadMessages: a connection is closed at this many bad_message or
	// unknown_type errors (10).
	MaxBadMessages int `yaml:"max_bad_messages"`
	// JoinTimeout: a connection that has not joined by then is closed (10 s).
	JoinTimeout time.Duration `yaml:"join_timeout"`
	// MaxPendingPerAddr: websockets one client address may hold open
	// without a join (16); more are refused with too_many_pending.
	MaxPendingPerAddr int `yaml:"max_pending_per_addr"`
	// PingInterval between websocket pings; a client silent for three
	// intervals is dropped (15 s).
	PingInterval time.Duration `yaml:"ping_interval"`
	// SendQueue: messages queued for a client that reads too slowly before
	// it is dropped (1024).
	SendQueue int `yaml:"send_queue"`
	// ResumeGrace is how long a participant whose websocket dropped
	// without a leave is held for its client to resume (15 s); then it
	// leaves the room.
	ResumeGrace time.Duration `yaml:"resume_grace"`
	// ResumeTokenTTL is the lifetime of a resume token (45 s); the node
	// sends a fresh one every PingInterval, so it must exceed
	// PingInterval + ResumeGrace.
	ResumeTokenTTL time.Duration `yaml:"resume_token_ttl"`
	// NodeName and Region identify the node to clients and bind resume
	// tokens to it (the node fills them in).
	NodeName string `yaml:"-"`
	Region   string `yaml:"-"`
	// SessionICEServers, when set, adds ICE servers for one session to its
	// `joined` message: short-lived TURN credentials (the node fills it in).
	SessionICEServers func(g Grant) []sfu.ICEServer `yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.MaxFrame <= 0 {
		c.MaxFrame = 64 << 10
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 50
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 200
	}
	if c.MaxBadMessages <= 0 {
		c.MaxBadMessages = 10
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 10 * time.Second
	}
	if c.MaxPendingPerAddr <= 0 {
		c.MaxPendingPerAddr = 16
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 15 * time.Second
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 1024
	}
	if c.ResumeGrace <= 0 {
		c.ResumeGrace = 15 * time.Second
	}
	if c.ResumeTokenTTL <= 0 {
		c.ResumeTokenTTL = c.PingInterval + c.ResumeGrace + 15*time.Second
	}
	if c.NodeName == "" {
		c.NodeName = "dev"
	}
	return c
}

// Server serves the signaling websocket (mount it at /ws).
type Server struct {
	cfg    Config
	sfu    *sfu.SFU
	verify *Verifier
	log    *slog.Logger
	up     websocket.Upgrader

	resumeKey []byte
	alts      atomic.Pointer[[]Alternative]
	draining  atomic.Bool
	metrics   sessionMetrics
	pending   pendingLimit
	q         qualityState // quality.go

	mu       sync.Mutex
	conns    map[*conn]struct{}
	sessions map[string]*session // by session id (session.go)
	closed   bool
	wg       sync.WaitGroup
}

// New returns a server joining clients into s.
func New(cfg Config, s *sfu.SFU, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	v, err := NewVerifier(cfg.APIKey, cfg.APISecret)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Server{
		cfg: cfg, sfu: s, verify: v, log: logger, conns: map[*conn]struct{}{}, pending: pendingLimit{max: cfg.MaxPendingPerAddr},
		sessions: map[string]*session{}, resumeKey: resumeKey(cfg.APISecret),
		// Any origin may connect: authority comes from the token alone.
		up: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
	}, nil
}

// errServerClosed refuses connections during shutdown.
var errServerClosed = errors.New("signaling: server closed")

// ServeHTTP upgrades the request and runs the connection until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, errServerClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	// Counted before the upgrade, so that a client whose upgrade
	// succeeded is already counted.
	addr := clientAddr(r)
	admitted := s.pending.acquire(addr)
	var once sync.Once
	joining := func() {
		if admitted {
			once.Do(func() { s.pending.release(addr) })
		}
	}
	defer joining()
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	if !admitted {
		s.refusePending(ws, addr)
		return
	}
	c := newConn(s, ws)
	c.joining = joining
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.run()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Connections counts open websockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Disconnect tells every client the node is going away (a close 1001, on
// which clients move to another node) and waits for their websockets to
// end. Their participants stay, held, until Close: a node that closes
// stops its trunks in between, so that neither the clients hear the
// trunks' mirrors leave nor the other nodes hear these participants leave
// (they moved). Joins and resumes are refused from now on.
func (s *Server) Disconnect() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown(websocket.CloseGoingAway, "node shutting down")
	}
	s.wg.Wait()
}

// Close disconnects every client (Disconnect) and makes their
// participants leave their rooms.
func (s *Server) Close() error {
	s.Disconnect()
	// Held participants leave now: nobody can resume on a closed server.
	for _, se := range s.sessionList() {
		se.leave()
	}
	return nil
}
