package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// clientParams configure one synthetic participant.
type clientParams struct {
	base     string // node HTTP base URL
	mode     string
	identity string
	publish  bool
	prefer   string // "large", "small" or "" (no preference sent)
	token    TokenFunc
	api      *webrtc.API
	media    MediaConfig
	logger   *slog.Logger
	quality  time.Duration // quality report period (quality.go); < 0: none
}

// client is one synthetic participant: a websocket, a subscriber
// PeerConnection that answers the node's offers, and for a publisher a
// publisher PeerConnection that sends generated simulcast VP8 and Opus.
type client struct {
	p      clientParams
	ctx    context.Context
	cancel context.CancelFunc
	ws     *wsConn
	wg     sync.WaitGroup

	mu         sync.Mutex
	joinStart  time.Time // websocket dial began
	joinedAt   time.Time // the node's joined arrived
	id         string    // participant id the node gave
	pub, sub   *webrtc.PeerConnection
	candidates map[string][]webrtc.ICECandidateInit
	// Local candidates wait until their connection's SDP went out, so the
	// node never sees a candidate for a connection it has no SDP of.
	sdpSent    map[string]bool
	localCands map[string][]webrtc.ICECandidateInit
	tracks     map[string]*recvTrack // "participant/track"
	layers     map[string]string     // "participant/track" → layer
	preferred  map[string]bool       // participants a preference was sent for
	answer     chan string           // publisher answers
	err        error                 // first fatal error
	gen        *generator
}

// recvTrack is one received track and its accounting.
type recvTrack struct {
	participant, track, kind string
	mu                       sync.Mutex
	r                        *trackRecv
}

func newClient(parent context.Context, p clientParams) *client {
	ctx, cancel := context.WithCancel(parent)
	return &client{
		p: p, ctx: ctx, cancel: cancel,
		candidates: map[string][]webrtc.ICECandidateInit{},
		sdpSent:    map[string]bool{},
		localCands: map[string][]webrtc.ICECandidateInit{},
		tracks:     map[string]*recvTrack{},
		layers:     map[string]string{},
		preferred:  map[string]bool{},
		answer:     make(chan string, 1),
	}
}

// join connects, joins the room and, for a publisher, publishes. It returns
// once the node has answered the publisher's offer (or, for a subscriber,
// once joined); media flows afterwards.
func (c *client) join(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	tok, err := c.p.token(ctx, c.p.identity, c.p.publish)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.joinStart = time.Now()
	c.mu.Unlock()
	ws, err := dialWS(ctx, c.p.base)
	if err != nil {
		return err
	}
	c.ws = ws
	if err := ws.send(message{Type: "join", Token: tok, Mode: c.p.mode}); err != nil {
		return fmt.Errorf("loadtest: join: %w", err)
	}
	joined := make(chan error, 1)
	c.wg.Add(1)
	go c.readLoop(joined)
	select {
	case err := <-joined:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("loadtest: %s: no joined message: %w", c.p.identity, ctx.Err())
	}
	if !c.p.publish {
		c.startQuality()
		return nil
	}
	if err := c.publish(ctx); err != nil {
		return err
	}
	c.startQuality()
	return nil
}

// readLoop owns the websocket's reads; it ends when the websocket closes.
func (c *client) readLoop(joined chan<- error) {
	defer c.wg.Done()
	first := true
	for {
		m, err := c.ws.recv()
		if err != nil {
			if first {
				joined <- fmt.Errorf("loadtest: %s: websocket closed before joined: %w", c.p.identity, err)
			}
			return
		}
		if first && (m.Type == "joined" || m.Type == "error") {
			first = false
			if m.Type == "error" {
				joined <- &ProtocolError{Code: m.Code, Message: m.Message}
				return
			}
			joined <- c.onJoined(m)
			continue
		}
		if err := c.dispatch(m); err != nil {
			c.fail(err)
		}
	}
}

func (c *client) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.p.logger.Warn("loadtest client", "identity", c.p.identity, "err", err)
}

func (c *client) onJoined(m message) error {
	now := time.Now()
	var self participantInfo
	if err := json.Unmarshal(m.Participant, &self); err != nil {
		return fmt.Errorf("loadtest: joined: participant: %w", err)
	}
	c.mu.Lock()
	c.joinedAt, c.id = now, self.ID
	c.mu.Unlock()
	var others []participantInfo
	if len(m.Participants) > 0 {
		if err := json.Unmarshal(m.Participants, &others); err != nil {
			return fmt.Errorf("loadtest: joined: participants: %w", err)
		}
	}
	if self.Subscribe {
		pc, err := c.newPC("subscriber", m.ICEServers)
		if err != nil {
			return err
		}
		pc.OnTrack(c.onTrack)
		c.mu.Lock()
		c.sub = pc
		c.mu.Unlock()
	}
	for _, o := range others {
		for _, t := range o.Tracks {
			c.maybePrefer(o.ID, t.Kind)
		}
	}
	return nil
}

func (c *client) newPC(target string, servers []webrtc.ICEServer) (*webrtc.PeerConnection, error) {
	pc, err := c.p.api.NewPeerConnection(webrtc.Configuration{ICEServers: servers, BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, fmt.Errorf("loadtest: %s peer connection: %w", target, err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		c.mu.Lock()
		if !c.sdpSent[target] {
			c.localCands[target] = append(c.localCands[target], init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.sendCandidate(target, init)
	})
	return pc, nil
}

func (c *client) sendCandidate(target string, init webrtc.ICECandidateInit) {
	if err := c.ws.send(message{Type: "candidate", Target: target, Candidate: &init}); err != nil {
		c.fail(fmt.Errorf("loadtest: sending a candidate: %w", err))
	}
}

// sendSDP sends an offer or answer, then the local candidates gathered before it.
func (c *client) sendSDP(typ, target, sdp string) error {
	if err := c.ws.send(message{Type: typ, Target: target, SDP: sdp}); err != nil {
		return fmt.Errorf("loadtest: sending the %s %s: %w", target, typ, err)
	}
	c.mu.Lock()
	c.sdpSent[target] = true
	list := c.localCands[target]
	delete(c.localCands, target)
	c.mu.Unlock()
	for _, cand := range list {
		c.sendCandidate(target, cand)
	}
	return nil
}

func (c *client) dispatch(m message) error {
	switch m.Type {
	case "offer":
		if m.Target == "subscriber" {
			return c.onSubscriberOffer(m.SDP)
		}
	case "answer":
		if m.Target == "publisher" {
			select {
			case c.answer <- m.SDP:
			default:
			}
		}
	case "candidate":
		return c.onCandidate(m.Target, m.Candidate)
	case "track_published":
		var t trackInfo
		var pid string
		if json.Unmarshal(m.Participant, &pid) == nil && json.Unmarshal(m.Track, &t) == nil {
			c.maybePrefer(pid, t.Kind)
		}
	case "layer":
		var pid, tid string
		if json.Unmarshal(m.Participant, &pid) == nil && json.Unmarshal(m.Track, &tid) == nil {
			c.mu.Lock()
			c.layers[pid+"/"+tid] = m.Layer
			c.mu.Unlock()
			c.p.logger.Info("layer", "client", c.p.identity, "participant", pid, "track", tid, "layer", m.Layer)
		}
	case "publish_layers":
		c.p.logger.Info("publish_layers", "client", c.p.identity, "layers", m.Layers)
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		if gen != nil {
			gen.setActive(m.Layers)
		}
	case "error":
		return &ProtocolError{Code: m.Code, Message: m.Message}
	}
	return nil
}

func (c *client) maybePrefer(participant, kind string) {
	if c.p.prefer == "" || kind != "video" {
		return
	}
	c.mu.Lock()
	done := c.preferred[participant]
	c.preferred[participant] = true
	c.mu.Unlock()
	if !done {
		if err := c.ws.send(message{Type: "prefer", Participant: jsonString(participant), Layer: c.p.prefer}); err != nil {
			c.fail(err)
		}
	}
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (c *client) onCandidate(target string, cand *webrtc.ICECandidateInit) error {
	if cand == nil || cand.Candidate == "" {
		return nil
	}
	c.mu.Lock()
	pc := c.sub
	if target == "publisher" {
		pc = c.pub
	}
	if pc == nil || pc.RemoteDescription() == nil {
		c.candidates[target] = append(c.candidates[target], *cand)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return pc.AddICECandidate(*cand)
}

func (c *client) flushCandidates(target string, pc *webrtc.PeerConnection) error {
	c.mu.Lock()
	list := c.candidates[target]
	delete(c.candidates, target)
	c.mu.Unlock()
	for _, cand := range list {
		if err := pc.AddICECandidate(cand); err != nil {
			return fmt.Errorf("loadtest: %s candidate: %w", target, err)
		}
	}
	return nil
}

func (c *client) onSubscriberOffer(sdp string) error {
	c.mu.Lock()
	pc := c.sub
	c.mu.Unlock()
	if pc == nil {
		return errors.New("loadtest: subscriber offer without subscribe grant")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("loadtest: subscriber offer: %w", err)
	}
	if err := c.flushCandidates("subscriber", pc); err != nil {
		return err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("loadtest: subscriber answer: %w", err)
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("loadtest: subscriber answer: %w", err)
	}
	return c.sendSDP("answer", "subscriber", pc.LocalDescription().SDP)
}

// onTrack starts the reader of a remote track. The node's msid is
// "<participant id> <track id>", which pion exposes as StreamID and ID.
func (c *client) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	video := track.Kind() == webrtc.RTPCodecTypeVideo
	stall := c.p.media.VideoStall
	if !video {
		stall = c.p.media.AudioStall
	}
	rt := &recvTrack{participant: track.StreamID(), track: track.ID(), kind: track.Kind().String(), r: newTrackRecv(video, stall)}
	c.mu.Lock()
	c.tracks[rt.participant+"/"+rt.track] = rt
	c.mu.Unlock()
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		readTrack(track, rt)
	}()
	go func() {
		// Reading RTCP lets the interceptors see the node's sender reports.
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	}()
}

// readTrack reads RTP until the track ends and feeds the accounting.
func readTrack(track *webrtc.TrackRemote, rt *recvTrack) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var vp8 codecs.VP8Packet
	video := rt.kind == "video"
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		rp := recvPacket{seq: pkt.SequenceNumber, ts: pkt.Timestamp, marker: pkt.Marker, size: n}
		if len(pkt.Payload) > 0 {
			if video {
				if payload, err := vp8.Unmarshal(pkt.Payload); err == nil && vp8.S == 1 && vp8.PID == 0 {
					rp.frameStart = true
					if pr, _, err := vp8Probe(payload); err == nil {
						rp.probe, rp.hasProbe = pr, true
					}
				}
			} else if pr, err := opusProbe(pkt.Payload); err == nil {
				rp.probe, rp.hasProbe = pr, true
			}
		}
		rt.mu.Lock()
		rt.r.onPacket(rp, now)
		rt.mu.Unlock()
	}
}

// publish offers simulcast VP8 (rids s and l) and Opus, waits for the
// node's answer and starts the generator.
func (c *client) publish(ctx context.Context) error {
	pc, err := c.newPC("publisher", nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.pub = pc
	c.mu.Unlock()
	gen, err := newGenerator(c.p.media, c.p.identity, pc, c.p.logger)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.gen = gen
	c.mu.Unlock()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("loadtest: publisher offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("loadtest: publisher offer: %w", err)
	}
	if err := c.sendSDP("offer", "publisher", pc.LocalDescription().SDP); err != nil {
		return err
	}
	var sdp string
	select {
	case sdp = <-c.answer:
	case <-ctx.Done():
		return fmt.Errorf("loadtest: %s: no publisher answer: %w", c.p.identity, ctx.Err())
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("loadtest: publisher answer: %w", err)
	}
	if err := c.flushCandidates("publisher", pc); err != nil {
		return err
	}
	gen.start(c.ctx, &c.wg)
	return nil
}

// close leaves the room and stops everything the client started.
func (c *client) close() {
	if c.ws != nil {
		_ = c.ws.send(message{Type: "leave"})
	}
	c.cancel()
	c.mu.Lock()
	pub, sub := c.pub, c.sub
	c.mu.Unlock()
	if pub != nil {
		_ = pub.Close()
	}
	if sub != nil {
		_ = sub.Close()
	}
	if c.ws != nil {
		_ = c.ws.close()
	}
	c.wg.Wait()
}

// joinTimes returns when the join began and when it was accepted (zero
// until then), and the participant id.
func (c *client) joinTimes() (start, joined time.Time, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joinStart, c.joinedAt, c.id
}

// firstError is the first fatal error the client met after joining.
func (c *client) firstError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
