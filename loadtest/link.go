package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// link is one connection of a client to a node: the websocket and the two
// PeerConnections. A resume gives a link a new websocket and keeps its
// PeerConnections; a move to another node makes a new link and closes the
// old one once the new one carries media.
type link struct {
	c    *client
	base string // the node's HTTP base URL

	mu         sync.Mutex
	ws         *wsConn
	pub, sub   *webrtc.PeerConnection
	gen        *generator
	genStop    context.CancelFunc
	candidates map[string][]webrtc.ICECandidateInit
	// Local candidates wait until their connection's SDP went out, so the
	// node never sees a candidate for a connection it has no SDP of.
	sdpSent    map[string]bool
	localCands map[string][]webrtc.ICECandidateInit
	offer      string // the publisher offer waiting for its answer ("" when none)
	// pubAwait: a publisher offer is out and its answer not yet applied;
	// the node's candidates for it wait (they belong to the answer's ICE
	// credentials: added against the previous description, as after an
	// ICE restart, pion drops them as stale).
	pubAwait bool
	closed   bool
	// leaving: a move is joining another node as this identity; that
	// node's newer session may replace this one before the move adopts
	// it, and a `replaced` here is then our own doing, not the end.
	leaving bool
	// frames: the last complete frame per "participant/kind" received on
	// this link; ended (endedCh closed): the node ended this link's
	// session while a move left it (handover.go).
	frames  map[string]time.Time
	ended   bool
	endedCh chan struct{}

	negMu  sync.Mutex  // one publisher offer/answer round at a time
	answer chan string // publisher answers
}

func newLink(c *client, base string) *link {
	return &link{c: c, base: base, candidates: map[string][]webrtc.ICECandidateInit{},
		sdpSent: map[string]bool{}, localCands: map[string][]webrtc.ICECandidateInit{}, answer: make(chan string, 1),
		endedCh: make(chan struct{})}
}

// open dials the node, sends first (join or resume) and returns the node's
// answer (joined or resumed); the websocket becomes the link's, accept
// runs on the answer before any later message is dispatched (the node
// sends its subscriber offer right after), and the reader keeps
// dispatching. A refusal is a *ProtocolError.
func (l *link) open(ctx context.Context, first message, accept func(message) error) (message, error) {
	ws, err := dialWS(ctx, l.base)
	if err != nil {
		return message{}, err
	}
	if err := ws.send(first); err != nil {
		_ = ws.close()
		return message{}, fmt.Errorf("loadtest: %s: %w", first.Type, err)
	}
	got := make(chan message, 1)
	failed := make(chan error, 1)
	l.c.wg.Add(1)
	// The websocket ends with the client: a join answered just after
	// close() looked for the current link would otherwise keep this
	// reader, and close()'s wait, blocked for as long as the node keeps
	// the websocket open.
	stop := context.AfterFunc(l.c.ctx, func() { _ = ws.close() })
	go l.read(ws, accept, got, failed, stop)
	select {
	case m := <-got:
		return m, nil
	case err := <-failed:
		return message{}, err
	case <-ctx.Done():
		_ = ws.close()
		return message{}, fmt.Errorf("loadtest: %s: no answer to %s: %w", l.c.p.identity, first.Type, ctx.Err())
	}
}

// read owns one websocket's reads: the first answer goes to got (or the
// refusal to failed), then every message is dispatched until the
// websocket closes, which the client is told about if it was the current
// one.
func (l *link) read(ws *wsConn, accept func(message) error, got chan<- message, failed chan<- error, stop func() bool) {
	defer l.c.wg.Done()
	defer stop()
	first := true
	for {
		m, err := ws.recv()
		if err != nil {
			_ = ws.close()
			if first {
				failed <- fmt.Errorf("loadtest: %s: websocket closed before joined: %w", l.c.p.identity, err)
				return
			}
			if l.isLeaving() {
				l.markEnded()
			}
			l.c.dropped(l, ws, err)
			return
		}
		if first {
			switch m.Type {
			case "joined", "resumed":
				l.mu.Lock()
				l.ws = ws
				l.mu.Unlock()
				if accept != nil {
					if err := accept(m); err != nil {
						_ = ws.close()
						failed <- err
						return
					}
				}
				first = false
				got <- m
			case "error":
				_ = ws.close()
				failed <- &ProtocolError{Code: m.Code, Message: m.Message}
				return
			}
			continue
		}
		if err := l.dispatch(m); err != nil {
			l.c.fail(err)
		}
	}
}

func (l *link) send(m message) error {
	l.mu.Lock()
	ws := l.ws
	l.mu.Unlock()
	if ws == nil {
		return errors.New("loadtest: no websocket")
	}
	return ws.send(m)
}

// sendRaw sends one JSON frame as it is (a quality report); without a
// websocket (a resume is under way) it is dropped, as a browser's would be.
func (l *link) sendRaw(b []byte) error {
	l.mu.Lock()
	ws := l.ws
	l.mu.Unlock()
	if ws == nil {
		return nil
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if err := ws.c.WriteMessage(websocket.TextMessage, b); err != nil {
		l.c.p.logger.Debug("loadtest: quality report", "err", err)
	}
	return nil
}

func (l *link) dispatch(m message) error {
	c := l.c
	switch m.Type {
	case "offer":
		if m.Target == "subscriber" {
			return l.onSubscriberOffer(m.SDP)
		}
	case "answer":
		if m.Target == "publisher" {
			select {
			case l.answer <- m.SDP:
			default:
			}
		}
	case "candidate":
		return l.onCandidate(m.Target, m.Candidate)
	case "publish_layers":
		c.p.logger.Info("publish_layers", "client", c.p.identity, "layers", m.Layers)
		l.mu.Lock()
		gen := l.gen
		l.mu.Unlock()
		if gen != nil {
			gen.setActive(m.Layers)
		}
	case "resume_token", "migrate":
		if c.current() != l {
			return nil // a link a move is leaving
		}
		if m.Type == "migrate" {
			c.asked(m)
		} else {
			c.takeResume(m)
		}
	case "error":
		if l.isLeaving() && m.Code == codeReplaced {
			c.note("the old node at %s replaced the session the move leaves", l.base)
			l.markEnded() // by our own new session: the old node let go of the old one
		}
		if c.current() != l || l.isLeaving() {
			return nil // e.g. `replaced` on the link a move leaves: by our own new session
		}
		if m.Code == codeReplaced {
			c.replaced()
			return nil
		}
		return &ProtocolError{Code: m.Code, Message: m.Message}
	default:
		return c.onRoomMessage(l, m)
	}
	return nil
}

func (l *link) newPC(target string, servers []webrtc.ICEServer, api *webrtc.API) (*webrtc.PeerConnection, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: servers, BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, fmt.Errorf("loadtest: %s peer connection: %w", target, err)
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		l.mu.Lock()
		if !l.sdpSent[target] {
			l.localCands[target] = append(l.localCands[target], init)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.sendCandidate(target, init)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { l.c.connectionState(l, pc, s) })
	return pc, nil
}

func (l *link) sendCandidate(target string, init webrtc.ICECandidateInit) {
	if err := l.send(message{Type: "candidate", Target: target, Candidate: &init}); err != nil {
		l.c.p.logger.Debug("loadtest: sending a candidate", "err", err)
	}
}

// sendSDP sends an offer or answer, then the local candidates gathered before it.
func (l *link) sendSDP(typ, target, sdp string) error {
	if err := l.send(message{Type: typ, Target: target, SDP: sdp}); err != nil {
		return fmt.Errorf("loadtest: sending the %s %s: %w", target, typ, err)
	}
	l.mu.Lock()
	l.sdpSent[target] = true
	list := l.localCands[target]
	delete(l.localCands, target)
	l.mu.Unlock()
	for _, cand := range list {
		l.sendCandidate(target, cand)
	}
	return nil
}

func (l *link) onCandidate(target string, cand *webrtc.ICECandidateInit) error {
	if cand == nil || cand.Candidate == "" {
		return nil
	}
	l.mu.Lock()
	pc := l.sub
	if target == "publisher" {
		pc = l.pub
	}
	if pc == nil || pc.RemoteDescription() == nil || target == "publisher" && l.pubAwait {
		l.candidates[target] = append(l.candidates[target], *cand)
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	return pc.AddICECandidate(*cand)
}

func (l *link) flushCandidates(target string, pc *webrtc.PeerConnection) error {
	l.mu.Lock()
	list := l.candidates[target]
	delete(l.candidates, target)
	l.mu.Unlock()
	for _, cand := range list {
		if err := pc.AddICECandidate(cand); err != nil {
			return fmt.Errorf("loadtest: %s candidate: %w", target, err)
		}
	}
	return nil
}

func (l *link) onSubscriberOffer(sdp string) error {
	l.mu.Lock()
	pc := l.sub
	l.mu.Unlock()
	if pc == nil {
		return errors.New("loadtest: subscriber offer without subscribe grant")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("loadtest: subscriber offer: %w", err)
	}
	if err := l.flushCandidates("subscriber", pc); err != nil {
		return err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("loadtest: subscriber answer: %w", err)
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("loadtest: subscriber answer: %w", err)
	}
	return l.sendSDP("answer", "subscriber", pc.LocalDescription().SDP)
}

// subscribe makes the subscriber connection, whose tracks the client reads.
func (l *link) subscribe(servers []webrtc.ICEServer) error {
	pc, err := l.newPC("subscriber", servers, l.c.p.api)
	if err != nil {
		return err
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) { l.c.onTrack(l, t, r) })
	l.mu.Lock()
	l.sub = pc
	l.mu.Unlock()
	return nil
}

// publish offers simulcast VP8 (rids s and l) and Opus, waits for the
// node's answer and starts the generator.
func (l *link) publish(ctx context.Context) error {
	c := l.c
	pc, err := l.newPC("publisher", nil, c.p.pubAPI)
	if err != nil {
		return err
	}
	gen, err := newGenerator(c.p.media, c.p.identity, pc, c.p.logger)
	if err != nil {
		_ = pc.Close()
		return err
	}
	gen.onEvent = func(format string, args ...any) { c.note("link to "+l.base+": "+format, args...) }
	l.mu.Lock()
	l.pub, l.gen = pc, gen
	l.mu.Unlock()
	if err := l.negotiate(ctx, nil); err != nil {
		return err
	}
	gctx, stop := context.WithCancel(c.ctx)
	l.mu.Lock()
	l.genStop = stop
	l.mu.Unlock()
	gen.start(gctx, &c.wg)
	return nil
}

// negotiate runs one publisher offer/answer round (opts may restart ICE).
func (l *link) negotiate(ctx context.Context, opts *webrtc.OfferOptions) error {
	l.negMu.Lock()
	defer l.negMu.Unlock()
	l.mu.Lock()
	pc := l.pub
	l.mu.Unlock()
	offer, err := pc.CreateOffer(opts)
	if err != nil {
		return fmt.Errorf("loadtest: publisher offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("loadtest: publisher offer: %w", err)
	}
	sdp := pc.LocalDescription().SDP
	l.mu.Lock()
	l.offer, l.pubAwait = sdp, true
	l.mu.Unlock()
	if err := l.sendSDP("offer", "publisher", sdp); err != nil {
		l.stopAwait()
		return err
	}
	var ans string
	select {
	case ans = <-l.answer:
	case <-ctx.Done():
		l.stopAwait()
		return fmt.Errorf("loadtest: %s: no publisher answer: %w", l.c.p.identity, ctx.Err())
	}
	l.mu.Lock()
	l.offer = ""
	l.mu.Unlock()
	err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans})
	if err != nil {
		l.stopAwait()
		return fmt.Errorf("loadtest: publisher answer: %w", err)
	}
	return l.flushPublisherCandidates(pc)
}

// stopAwait lets publisher candidates through again after a round failed.
func (l *link) stopAwait() {
	l.mu.Lock()
	l.pubAwait = false
	l.mu.Unlock()
}

// flushPublisherCandidates adds the candidates that waited for the
// publisher answer, until none is left, and lets later ones through.
func (l *link) flushPublisherCandidates(pc *webrtc.PeerConnection) error {
	for {
		l.mu.Lock()
		list := l.candidates["publisher"]
		delete(l.candidates, "publisher")
		if len(list) == 0 {
			l.pubAwait = false
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		for _, cand := range list {
			if err := pc.AddICECandidate(cand); err != nil {
				l.stopAwait()
				return fmt.Errorf("loadtest: publisher candidate: %w", err)
			}
		}
	}
}

// close ends the link: generator, connections, websocket. leave says
// whether to tell the node first.
func (l *link) close(leave bool) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	ws, pub, sub, stop := l.ws, l.pub, l.sub, l.genStop
	l.mu.Unlock()
	if stop != nil {
		stop()
	}
	if ws != nil && leave {
		_ = ws.send(message{Type: "leave"})
	}
	if pub != nil {
		_ = pub.Close()
	}
	if sub != nil {
		_ = sub.Close()
	}
	if ws != nil {
		_ = ws.close()
	}
}

// jsonString is a JSON string value, for fields sent raw.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (l *link) setLeaving(on bool) {
	l.mu.Lock()
	l.leaving = on
	l.mu.Unlock()
}

func (l *link) isLeaving() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leaving
}
