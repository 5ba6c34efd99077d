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
	// subscribeTo: when set, join with auto_subscribe false and subscribe
	// to these participants only.
	subscribeTo []string
	// token gets the first token; tokenAt one for another node and the
	// participant's identity, when the client moves (recover.go).
	token   TokenFunc
	tokenAt func(ctx context.Context, base, identity string, publish bool) (string, error)
	api     *webrtc.API // subscriber side
	pubAPI  *webrtc.API // publisher side
	media   MediaConfig
	logger  *slog.Logger
	// noRecover: the client never resumes or moves (its session ends with
	// its websocket, as before recovery existed).
	noRecover bool
	quality   time.Duration // quality report period (quality.go); < 0: none
}

// client is one synthetic participant: a link to its node (websocket,
// subscriber PeerConnection that answers the node's offers and, for a
// publisher, a publisher PeerConnection that sends generated simulcast VP8
// and Opus), and what survives a change of link: the tracks it received,
// its preferences, its recoveries and the media gaps it saw.
type client struct {
	p      clientParams
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	gaps   *gapMeter
	events timeline // timeline.go

	mu        sync.Mutex
	joinStart time.Time // websocket dial began
	joinedAt  time.Time // the node's joined arrived
	id        string    // participant id the node gave
	cur       *link
	tracks    map[string]*recvTrack // "participant/track"
	layers    map[string]string     // "participant/track" → layer
	preferred map[string]bool       // participants a preference was sent for (on the current link)
	err       error                 // first fatal error
	rec       recovery              // recover.go
}

// recvTrack is one received track and its accounting.
type recvTrack struct {
	participant, track, kind string
	mu                       sync.Mutex
	r                        *trackRecv
}

func newClient(parent context.Context, p clientParams) *client {
	ctx, cancel := context.WithCancel(parent)
	if p.pubAPI == nil {
		p.pubAPI = p.api
	}
	return &client{
		p: p, ctx: ctx, cancel: cancel, gaps: newGapMeter(),
		tracks:    map[string]*recvTrack{},
		layers:    map[string]string{},
		preferred: map[string]bool{},
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
	l := newLink(c, c.p.base)
	if _, err := l.open(ctx, c.joinMessage(tok), func(m message) error { return c.adopt(l, m) }); err != nil {
		l.close(false)
		return err
	}
	if c.p.publish {
		if err := l.publish(ctx); err != nil {
			return err
		}
	}
	c.startQuality()
	return nil
}

// adopt makes l the client's link after the node accepted a join, and sets
// up its subscriber connection.
func (c *client) adopt(l *link, m message) error {
	now := time.Now()
	var self participantInfo
	if err := json.Unmarshal(m.Participant, &self); err != nil {
		return fmt.Errorf("loadtest: joined: participant: %w", err)
	}
	var others []participantInfo
	if len(m.Participants) > 0 {
		if err := json.Unmarshal(m.Participants, &others); err != nil {
			return fmt.Errorf("loadtest: joined: participants: %w", err)
		}
	}
	c.mu.Lock()
	if c.rec.closing {
		// close() has already closed the link it knew: this one would
		// be left open.
		c.mu.Unlock()
		return errors.New("loadtest: joined while the client was closing")
	}
	if c.joinedAt.IsZero() {
		c.joinedAt = now
	}
	c.id, c.cur = self.ID, l
	c.preferred = map[string]bool{}
	c.mu.Unlock()
	c.takeResume(m)
	if self.Subscribe {
		if err := l.subscribe(m.ICEServers); err != nil {
			return err
		}
		c.sendSubscriptions(l, others)
	}
	for _, o := range others {
		for _, t := range o.Tracks {
			c.maybePrefer(l, o.ID, t.Kind)
		}
	}
	return nil
}

// current is the client's link now.
func (c *client) current() *link {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *client) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.p.logger.Warn("loadtest client", "identity", c.p.identity, "err", err)
}

// onRoomMessage handles the messages about the room.
func (c *client) onRoomMessage(l *link, m message) error {
	if m.Type == "track_published" || m.Type == "track_unpublished" {
		c.note("%s %s %s on the link to %s", m.Type, m.Participant, m.Track, l.base)
	}
	switch m.Type {
	case "participant_joined":
		var p participantInfo
		if json.Unmarshal(m.Participant, &p) == nil {
			c.sendSubscriptions(l, []participantInfo{p})
		}
	case "track_published":
		var t trackInfo
		var pid string
		if json.Unmarshal(m.Participant, &pid) == nil && json.Unmarshal(m.Track, &t) == nil {
			c.maybePrefer(l, pid, t.Kind)
		}
	case "layer":
		var pid, tid string
		if json.Unmarshal(m.Participant, &pid) == nil && json.Unmarshal(m.Track, &tid) == nil {
			c.mu.Lock()
			c.layers[pid+"/"+tid] = m.Layer
			c.mu.Unlock()
			c.p.logger.Info("layer", "client", c.p.identity, "participant", pid, "track", tid, "layer", m.Layer)
		}
	}
	return nil
}

func (c *client) maybePrefer(l *link, participant, kind string) {
	if c.p.prefer == "" || kind != "video" {
		return
	}
	c.mu.Lock()
	done := c.preferred[participant] || l != c.cur
	c.preferred[participant] = true
	c.mu.Unlock()
	if !done {
		if err := l.send(message{Type: "prefer", Participant: jsonString(participant), Layer: c.p.prefer}); err != nil {
			c.p.logger.Debug("loadtest: prefer", "err", err)
		}
	}
}

// onTrack starts the reader of a remote track. The node's msid is
// "<participant id> <track id>", which pion exposes as StreamID and ID.
func (c *client) onTrack(l *link, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	video := track.Kind() == webrtc.RTPCodecTypeVideo
	stall := c.p.media.VideoStall
	if !video {
		stall = c.p.media.AudioStall
	}
	rt := &recvTrack{participant: track.StreamID(), track: track.ID(), kind: track.Kind().String(), r: newTrackRecv(video, stall)}
	key := rt.participant + "/" + rt.kind
	var seen bool
	rt.r.onFrameAt = func(now time.Time, p probe) {
		src := frameSrc{track: rt.track, no: p.frame, sent: p.sent}
		if g, before, ok := c.gaps.frame(key, now, src); ok {
			c.events.add(now, c.p.identity, "gap of %.0f ms (net %.0f) in %s: from track %s frame %d to track %s frame %d (link to %s)",
				g.Ms, g.NetMs, key, before.track, before.no, src.track, src.no, l.base)
		}
		l.sawFrame(key, now)
		if !seen {
			c.events.add(now, c.p.identity, "first frame of %s (track %s, frame %d) on the link to %s", key, rt.track, p.frame, l.base)
		}
		seen = true
	}
	c.note("track %s (%s) on the link to %s", key, rt.track, l.base)
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

// close leaves the room and stops everything the client started.
func (c *client) close() {
	c.mu.Lock()
	c.rec.closing = true
	l := c.cur
	old := c.rec.old
	c.mu.Unlock()
	if l != nil {
		l.close(true)
	}
	for _, o := range old {
		o.close(false)
	}
	c.cancel()
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
