package perf

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/udp"
)

// resultWait bounds the wait for the server's result after stop, beyond
// the media grace period. Once the data stops, the stop message and the
// result are the only packets, so a loss of either is found by the probe
// timeout, which doubles: at 50% loss each way four losses in a row (one
// test in 16) took over 5 s, and the test failed with no result.
const resultWait = 15 * time.Second

// Run runs one test against a perf server and returns its summary.
func Run(ctx context.Context, cfg ClientConfig) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	qcfg := qrtp.Config{
		Key: cfg.Key, Logger: cfg.Logger,
		MaxDatagramSize: cfg.MaxDatagramSize, HandshakeTimeout: cfg.HandshakeTimeout,
		Conn: qrtp.ConnConfig{Profile: cfg.Profile, CongestionControl: cfg.CC},
	}
	// Dialled early either way: the start message is the first write and
	// rides in the Init, which is retransmitted until answered, so it
	// cannot be lost while data overtakes it. With the server's key the
	// server starts the test after half an RTT; without it the Init
	// follows the key reply.
	dialed := time.Now()
	conn, err := udp.DialEarly(ctx, cfg.Addr, qcfg, cfg.ServerKey)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctl, err := conn.OpenStream(ctx, qrtp.StreamOptions{Priority: qrtp.PriorityControl})
	if err != nil {
		return nil, err
	}
	t := &clientTest{cfg: cfg, conn: conn, cd: newConduit(ctl), dialed: dialed}
	if err := t.cd.send(ctrlMsg{Type: "start", Mode: cfg.Mode, Reverse: cfg.Reverse,
		Bitrate: cfg.Bitrate, FPS: cfg.FPS, Deadline: cfg.Deadline, Profile: cfg.Profile, Interval: cfg.Interval}); err != nil {
		return nil, err
	}
	res, err := t.run(ctx)
	return res, refusal(err)
}

// refusal turns the server's refusal to set a test up, which arrives as a
// connection close with codeRefused, into an error saying why.
func refusal(err error) error {
	var ce *qrtp.CloseError
	if errors.As(err, &ce) && ce.Remote && ce.Code == codeRefused {
		return fmt.Errorf("perf: the server refused the test: %s", ce.Reason)
	}
	return err
}

// clientTest is the state of one test on the client.
type clientTest struct {
	cfg  ClientConfig
	conn *udp.Conn
	cd   *conduit

	local    role
	sender   *sampler // the local sender's statistics (forward tests)
	dialed   time.Time
	setup    time.Duration // from dialling to the handshake's end
	data     *udp.Stream   // the bulk stream this side sends, if any
	start    time.Time
	sched    schedMark // this process's scheduling at start
	rttBest  time.Duration
	offset   time.Duration // server clock − client clock
	last     point
	haveLast bool
}

// point is the merged cumulative state at one interval report.
type point struct {
	recvT, sendT float64 // seconds on the receiver's and sender's clocks
	recv, frames int64
	send         *snapshot
}

func (t *clientTest) run(ctx context.Context) (*Result, error) {
	// Bulk data starts at once and rides in the Init (0-RTT). Media frames
	// start on the established connection, as on a trunk: at 50% loss a
	// handshake needs a second try three times in four, and frames queued
	// behind it would measure the setup, not the transport (which
	// Result.HandshakeMS reports).
	media := t.cfg.Mode == ModeMedia
	if !t.cfg.Reverse && !media {
		if err := t.startSending(ctx); err != nil {
			return nil, err
		}
	}
	if err := t.conn.Handshake(ctx); err != nil {
		return nil, err
	}
	t.setup = time.Since(t.dialed)
	if !t.cfg.Reverse && media {
		if err := t.startSending(ctx); err != nil {
			return nil, err
		}
	}
	if t.cfg.OnConnected != nil {
		t.cfg.OnConnected(Connected{Handshake: t.conn.HandshakeKind(), ServerKey: t.conn.RemoteKey(), Setup: t.setup,
			Profile: t.cfg.Profile, CC: controllerName(t.cfg.Profile, t.cfg.CC), Deadline: t.cfg.Deadline})
	}
	msgs := make(chan ctrlMsg, 16)
	readErr := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go t.cd.pump(runCtx, msgs, readErr)
	if t.cfg.Reverse {
		if err := t.startReceiving(runCtx); err != nil {
			return nil, err
		}
	}
	if t.sender != nil {
		go t.sender.run(runCtx)
	}
	// The first interval starts from nothing.
	t.last, t.haveLast = point{send: &snapshot{}}, true
	return t.loop(runCtx, msgs, readErr)
}

func (t *clientTest) startSending(ctx context.Context) error {
	opts := qrtp.StreamOptions{}
	if t.cfg.Mode == ModeMedia {
		opts = qrtp.StreamOptions{Mode: qrtp.ModeMessage, Deadline: t.cfg.Deadline}
	}
	s, err := t.conn.OpenStream(ctx, opts)
	if err != nil {
		return err
	}
	t.sender = newSampler(t.conn, controllerName(t.cfg.Profile, t.cfg.CC))
	t.start, t.sched = time.Now(), markSched()
	if t.cfg.Mode == ModeMedia {
		t.local = startMediaSender(s, t.cfg.Bitrate, t.cfg.FPS, t.cfg.Deadline)
	} else {
		t.local = startBulkSender(s)
		t.data = s
	}
	return nil
}

func (t *clientTest) startReceiving(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := t.conn.AcceptStream(actx)
	if err != nil {
		return fmt.Errorf("perf: the server opened no data stream: %w", err)
	}
	t.start, t.sched = time.Now(), markSched()
	if t.cfg.Mode == ModeMedia {
		t.local = startMediaReceiver(ctx, s, t.cfg.FPS)
	} else {
		t.local = startBulkReceiver(s)
	}
	return nil
}

// loop handles reports and pings until the test time is up, then stops.
func (t *clientTest) loop(ctx context.Context, msgs <-chan ctrlMsg, readErr <-chan error) (*Result, error) {
	end := time.NewTimer(t.cfg.Duration - time.Since(t.start))
	defer end.Stop()
	ping := time.NewTicker(200 * time.Millisecond)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			t.local.halt()
			return nil, ctx.Err()
		case <-t.conn.Done():
			t.local.halt()
			return nil, t.conn.Err()
		case err := <-readErr:
			t.local.halt()
			return nil, err
		case <-ping.C:
			t.cd.send(ctrlMsg{Type: "ping", T: time.Now().UnixNano()})
		case m := <-msgs:
			if err := t.onMessage(m); err != nil {
				t.local.halt()
				return nil, err
			}
		case <-end.C:
			return t.stop(ctx, msgs, readErr)
		}
	}
}

func (t *clientTest) onMessage(m ctrlMsg) error {
	switch m.Type {
	case "pong":
		now := time.Now().UnixNano()
		rtt := time.Duration(now - m.T)
		if rtt >= 0 && (t.rttBest == 0 || rtt < t.rttBest) {
			t.rttBest = rtt
			t.offset = time.Duration(m.ServerT - (m.T + int64(rtt/2)))
		}
	case "interval":
		if m.Snap != nil {
			t.report(t.merge(m.Snap))
		}
	case "result":
		if m.Error != "" {
			return fmt.Errorf("perf: the server refused the test: %s", m.Error)
		}
	}
	return nil
}

// merge combines the peer's snapshot with this side's state.
func (t *clientTest) merge(peer *snapshot) point {
	if t.cfg.Reverse {
		recv, frames := t.local.received()
		return point{recvT: time.Since(t.start).Seconds(), recv: recv, frames: frames, sendT: peer.Elapsed, send: peer}
	}
	s := t.sender.snap(0, 0)
	return point{recvT: peer.Elapsed, recv: peer.RecvBytes, frames: peer.FramesRecv, sendT: s.Elapsed, send: s}
}

// report turns two successive points into an interval line.
func (t *clientTest) report(p point) {
	if t.haveLast && t.cfg.OnInterval != nil {
		t.cfg.OnInterval(between(t.last, p))
	}
	t.last, t.haveLast = p, true
}

func between(a, b point) Interval {
	iv := Interval{From: a.recvT, To: b.recvT, Frames: b.frames - a.frames,
		SmoothedRTT: b.send.SmoothedRTT, CWND: b.send.CWND, State: b.send.State}
	if dt := b.recvT - a.recvT; dt > 0 {
		iv.GoodputMbit = float64(b.recv-a.recv) * 8 / dt / 1e6
	}
	sent := b.send.BytesSent - a.send.BytesSent
	if dt := b.sendT - a.sendT; dt > 0 {
		iv.SentMbit = float64(sent) * 8 / dt / 1e6
	}
	if sent > 0 {
		iv.RetxRatio = float64(b.send.BytesRetx-a.send.BytesRetx) / float64(sent)
	}
	if n := b.send.PacketsSent - a.send.PacketsSent; n > 0 {
		iv.Loss = float64(b.send.PacketsLost-a.send.PacketsLost) / float64(n)
	}
	return iv
}

// stop ends the test: the sender stops, the server is told, and its
// result is merged with this side's.
func (t *clientTest) stop(ctx context.Context, msgs <-chan ctrlMsg, readErr <-chan error) (*Result, error) {
	t.local.halt()
	stopAt := time.Now()
	sched := t.sched.since()
	var localSnap *snapshot
	if t.sender != nil {
		localSnap = t.sender.snap(0, 0)
	}
	recvBytes, _ := t.local.received()
	var acked uint64
	if t.data != nil {
		acked = t.data.Stats().BytesAcked
	}
	framesSent := int64(0)
	if ms, ok := t.local.(*mediaSender); ok {
		framesSent = ms.sent.Load()
	}
	if err := t.cd.send(ctrlMsg{Type: "stop", FramesSent: framesSent, ClockOffsetNS: int64(t.offset), StopT: stopAt.UnixNano()}); err != nil {
		return nil, err
	}
	wait := time.NewTimer(resultWait + grace(t.cfg.Deadline))
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-readErr:
			return nil, fmt.Errorf("perf: no result from the server: %w", err)
		case <-wait.C:
			return nil, errors.New("perf: the server sent no result in time")
		case m := <-msgs:
			if m.Type != "result" {
				if err := t.onMessage(m); err != nil {
					return nil, err
				}
				continue
			}
			if m.Error != "" {
				return nil, fmt.Errorf("perf: the server failed the test: %s", m.Error)
			}
			if m.Snap == nil {
				return nil, errors.New("perf: the server's result holds no figures")
			}
			r, err := t.result(stopAt, localSnap, recvBytes, m)
			if r != nil {
				r.ClientSched, r.ServerSched = sched, m.Sched
			}
			if r != nil && t.data != nil {
				if d := stopAt.Sub(t.start).Seconds(); d > 0 {
					r.AckedMbit = float64(acked) * 8 / d / 1e6
				}
			}
			return r, err
		}
	}
}

// grace is how long a media receiver keeps listening after the sender
// stopped: frames sent just before may still arrive within their deadline.
func grace(deadline time.Duration) time.Duration {
	return min(deadline+100*time.Millisecond, 3*time.Second)
}
