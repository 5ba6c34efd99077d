package perf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/udp"
)

// setupTimeout bounds the wait for a client's control and data streams.
// After the result the server waits for the client to close, at most
// lingerAfterResult, and at most lingerAfterAck once the result was
// acknowledged: at 50% loss a result needs four or more tries one time in
// sixteen, and the retransmission timer doubles, so a fixed 5 s closed the
// connection under about one client in ten before the result reached it
// (the client saw "connection closed by remote: code 0x0").
const (
	setupTimeout      = 10 * time.Second
	lingerAfterResult = 30 * time.Second
	lingerAfterAck    = 2 * time.Second
)

// ServerConfig configures a perf server.
type ServerConfig struct {
	// Addr is the UDP address to listen on.
	Addr string
	// Key is the server's key pair; clients pass its public half for 0-RTT.
	Key handshake.KeyPair
	// Profile holds the server's connection defaults; "" means bulk (the
	// largest receive windows, so the server never limits a test).
	Profile string
	// CC names the server's controller, which governs reverse tests.
	CC              string
	MaxDatagramSize int
	Logger          *slog.Logger

	// OnTest is called when a test starts, OnDone when it ended.
	OnTest func(TestInfo)
	OnDone func(TestInfo, TestReport)
}

// TestInfo describes a test a client asked for.
type TestInfo struct {
	Remote    netip.AddrPort
	Handshake string
	Mode      string
	Reverse   bool
	Profile   string
}

// TestReport is the server's view of a finished test.
type TestReport struct {
	Err         error
	Seconds     float64
	GoodputMbit float64 // when the server received
	SentMbit    float64 // when the server sent
}

// Server answers perf tests, any number at once.
type Server struct {
	t   *udp.Transport
	cfg ServerConfig
	wg  sync.WaitGroup
}

// Listen opens the server's socket.
func Listen(ctx context.Context, cfg ServerConfig) (*Server, error) {
	if cfg.Profile == "" {
		cfg.Profile = "bulk"
	}
	if err := CheckController(cfg.CC); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := udp.Listen(ctx, cfg.Addr, qrtp.Config{
		Key: cfg.Key, Logger: cfg.Logger, MaxDatagramSize: cfg.MaxDatagramSize,
		Conn: qrtp.ConnConfig{Profile: cfg.Profile, CongestionControl: cfg.CC},
	})
	if err != nil {
		return nil, err
	}
	return &Server{t: t, cfg: cfg}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.t.Addr() }

// PublicKey is the key clients pass as --server-key.
func (s *Server) PublicKey() handshake.PublicKey { return s.t.PublicKey() }

// Serve answers tests until ctx is done or the server is closed, then
// waits for the tests in progress to end.
func (s *Server) Serve(ctx context.Context) error {
	defer s.wg.Wait()
	for {
		c, err := s.t.Accept(ctx)
		if err != nil {
			if errors.Is(err, qrtp.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c)
		}()
	}
}

// Close stops the server and closes every connection.
func (s *Server) Close() error { return s.t.Close() }

func (s *Server) handle(ctx context.Context, c *udp.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.setup(ctx, c)
	if err != nil {
		s.cfg.Logger.Info("perf: test setup failed", "remote", c.RemoteAddr(), "err", err)
		// The reason travels in CONNECTION_CLOSE, so the client can print
		// it even when the control stream itself was the problem.
		c.CloseWithError(codeRefused, err.Error())
		return
	}
	if s.cfg.OnTest != nil {
		s.cfg.OnTest(st.info)
	}
	rep := st.serve(ctx)
	st.linger(ctx)
	if s.cfg.OnDone != nil {
		s.cfg.OnDone(st.info, rep)
	}
}

// serverTest is one test on the server.
type serverTest struct {
	cfg     ServerConfig
	c       *udp.Conn
	ctl     *udp.Stream
	cd      *conduit
	start   ctrlMsg
	info    TestInfo
	role    role
	sampler *sampler
	// early holds data streams that arrived before the control stream.
	early []*udp.Stream
}

// setup reads the client's request and opens or accepts the data stream.
func (s *Server) setup(ctx context.Context, c *udp.Conn) (*serverTest, error) {
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	st := &serverTest{cfg: s.cfg, c: c}
	ctl, err := st.acceptControl(sctx)
	if err != nil {
		return nil, err
	}
	st.ctl, st.cd = ctl, newConduit(ctl)
	if st.start, err = st.cd.recv(); err != nil {
		return nil, fmt.Errorf("reading the start message: %w", err)
	}
	if err := st.check(); err != nil {
		st.cd.send(ctrlMsg{Type: "result", Error: err.Error()})
		return nil, err
	}
	st.info = TestInfo{Remote: c.RemoteAddr(), Handshake: c.HandshakeKind(), Mode: st.start.Mode,
		Reverse: st.start.Reverse, Profile: st.start.Profile}
	if err := st.openData(sctx, ctx); err != nil {
		st.cd.send(ctrlMsg{Type: "result", Error: err.Error()})
		return nil, err
	}
	st.sampler = newSampler(c, controllerName(s.cfg.Profile, s.cfg.CC))
	return st, nil
}

// acceptControl accepts streams until the control stream arrives. Streams
// are accepted in the order their first frame arrives, not the order the
// client opened them: when the packet carrying the start message is lost,
// the data stream's first bytes come first. Data streams accepted before
// the control stream are kept for openData.
func (st *serverTest) acceptControl(ctx context.Context) (*udp.Stream, error) {
	for {
		s, err := st.c.AcceptStream(ctx)
		if err != nil {
			return nil, fmt.Errorf("no control stream: %w", err)
		}
		if s.ID() == controlStreamID {
			return s, nil
		}
		if len(st.early) >= maxEarlyStreams {
			return nil, fmt.Errorf("%d streams opened before the control stream", len(st.early)+1)
		}
		st.early = append(st.early, s)
	}
}

// acceptData returns the client's data stream: one accepted before the
// control stream, or the next to arrive.
func (st *serverTest) acceptData(ctx context.Context, mode qrtp.Mode) (*udp.Stream, error) {
	var s *udp.Stream
	if len(st.early) > 0 {
		s, st.early = st.early[0], st.early[1:]
	} else {
		var err error
		if s, err = st.c.AcceptStream(ctx); err != nil {
			return nil, fmt.Errorf("no data stream: %w", err)
		}
	}
	if s.Mode() != mode {
		return nil, fmt.Errorf("the data stream has mode %v, want %v for a %s test", s.Mode(), mode, st.start.Mode)
	}
	return s, nil
}

// check validates the start message.
func (st *serverTest) check() error {
	m := st.start
	if m.Type != "start" {
		return fmt.Errorf("expected a start message, got %q", m.Type)
	}
	if _, err := qrtp.LookupProfile(m.Profile); err != nil {
		return err
	}
	switch m.Mode {
	case ModeBulk:
	case ModeMedia:
		if !(m.FPS > 0 && m.FPS <= 1000) || frameBytes(m.Bitrate, m.FPS) == 0 || m.Deadline <= 0 {
			return fmt.Errorf("media needs a frame rate in (0, 1000], frames of %d bytes to %d KiB, and a deadline", frameHeader, maxFrameBytes>>10)
		}
	default:
		return fmt.Errorf("unknown mode %q", m.Mode)
	}
	return nil
}

func (st *serverTest) openData(setupCtx, ctx context.Context) error {
	m := st.start
	if !m.Reverse {
		mode := qrtp.ModeReliable
		if m.Mode == ModeMedia {
			mode = qrtp.ModeMessage
		}
		s, err := st.acceptData(setupCtx, mode)
		if err != nil {
			return err
		}
		if m.Mode == ModeMedia {
			st.role = startMediaReceiver(ctx, s, m.FPS)
		} else {
			st.role = startBulkReceiver(s)
		}
		return nil
	}
	opts := qrtp.StreamOptions{}
	if m.Mode == ModeMedia {
		prof, _ := qrtp.LookupProfile(m.Profile)
		opts = prof.Message
		opts.Mode, opts.Deadline = qrtp.ModeMessage, m.Deadline
	}
	s, err := st.c.OpenStream(setupCtx, opts)
	if err != nil {
		return err
	}
	if m.Mode == ModeMedia {
		st.role = startMediaSender(s, m.Bitrate, m.FPS, m.Deadline)
	} else {
		st.role = startBulkSender(s)
	}
	return nil
}

// serve reports intervals and answers pings until the client stops.
func (st *serverTest) serve(ctx context.Context) TestReport {
	defer st.role.halt()
	go st.sampler.run(ctx)
	msgs := make(chan ctrlMsg, 16)
	readErr := make(chan error, 1)
	go st.cd.pump(ctx, msgs, readErr)
	// The client chooses the interval; a tenth of a second at least.
	tick := time.NewTicker(max(st.start.Interval, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return TestReport{Err: ctx.Err()}
		case err := <-readErr:
			return TestReport{Err: fmt.Errorf("client went away: %w", err)}
		case <-tick.C:
			recv, frames := st.role.received()
			st.cd.send(ctrlMsg{Type: "interval", Snap: st.sampler.snap(recv, frames)})
		case m := <-msgs:
			switch m.Type {
			case "ping":
				st.cd.send(ctrlMsg{Type: "pong", T: m.T, ServerT: time.Now().UnixNano()})
			case "stop":
				return st.finish(ctx, m)
			}
		}
	}
}

// finish stops the data, waits for late media frames, and sends the result.
func (st *serverTest) finish(ctx context.Context, stop ctrlMsg) TestReport {
	st.role.halt()
	stopAt := time.Now()
	recv, frames := st.role.received()
	snap := st.sampler.snap(recv, frames)
	res := ctrlMsg{Type: "result", Snap: snap, Sched: st.sampler.sched.since()}
	rep := TestReport{Seconds: snap.Elapsed}
	switch r := st.role.(type) {
	case *mediaReceiver:
		select {
		case <-time.After(grace(st.start.Deadline)):
		case <-ctx.Done():
		}
		// The receiver is the server: raw latency = true + offset.
		res.Media = r.finish(stop.FramesSent, time.Duration(stop.ClockOffsetNS), r.sendingEnded(stop, stopAt))
		rep.GoodputMbit = float64(res.Media.BytesDelivered) * 8 / snap.Elapsed / 1e6
	case *bulkReceiver:
		rep.GoodputMbit = float64(recv) * 8 / snap.Elapsed / 1e6
	case *mediaSender:
		res.FramesSent = r.sent.Load()
		rep.SentMbit = float64(snap.BytesSent) * 8 / snap.Elapsed / 1e6
	default:
		rep.SentMbit = float64(snap.BytesSent) * 8 / snap.Elapsed / 1e6
	}
	if err := st.cd.send(res); err != nil {
		rep.Err = err
	}
	return rep
}

// linger waits for the client to close after the result: closing abandons
// unacknowledged data, so the server waits until the result was
// acknowledged (then lingerAfterAck for the client's close) or
// lingerAfterResult passed.
func (st *serverTest) linger(ctx context.Context) {
	limit := time.NewTimer(lingerAfterResult)
	defer limit.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var acked time.Time
	for {
		select {
		case <-st.c.Done():
			return
		case <-ctx.Done():
			return
		case <-limit.C:
			return
		case now := <-tick.C:
			if acked.IsZero() && st.ctl.Stats().SendBuffered == 0 {
				acked = now
			}
			if !acked.IsZero() && now.Sub(acked) >= lingerAfterAck {
				return
			}
		}
	}
}
