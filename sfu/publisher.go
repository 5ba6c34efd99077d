package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// publisher is a participant's publisher connection: the client offers,
// the SFU answers, and every incoming track becomes a Receiver.
type publisher struct {
	p  *Participant
	pc *webrtc.PeerConnection

	negMu   sync.Mutex // one offer at a time; guards pending
	pending []webrtc.ICECandidateInit

	mu     sync.Mutex
	byMid  map[string]*pubTrack
	ids    map[string]string // mid → track ID, reserved before publishing (backup.go)
	closed bool
	wg     sync.WaitGroup
}

// pubTrack is one published transceiver: the Receiver and what the
// Upstream side needs to reach the browser.
type pubTrack struct {
	pub *publisher
	mid string
	// id is the track's ID, known before the track is published: the room
	// may call the Upstream methods before PublishTrack returns rcv, so
	// they must not read rcv.
	id    string
	rcv   *Receiver
	rids  []string
	ssrcs []atomic.Uint32 // each layer's media SSRC, once known
	// reading marks layers with a reader, under publisher.mu.
	reading []bool
	rtxPTs  []uint8 // the payload types of RTX
	live    int     // layer readers running, under publisher.mu
	svc     bool    // one VP9 stream of spatial layers (svc.go)
}

func newPublisher(p *Participant) (*publisher, error) {
	pc, err := p.sfu.eng.pub.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("sfu: publisher connection: %w", err)
	}
	pub := &publisher{p: p, pc: pc, byMid: map[string]*pubTrack{}}
	p.watchConnection(pc, TargetPublisher)
	pc.OnTrack(pub.onTrack)
	return pub, nil
}

// watchConnection sends a connection's ICE candidates to the client,
// through the gate it returns, and removes the participant when the connection fails (ICE failed, or
// disconnected past the timeout). The removal runs on its own goroutine,
// owned by the SFU: it closes this very connection, which waits for pion's
// callbacks.
func (p *Participant) watchConnection(pc *webrtc.PeerConnection, t Target) *candidateGate {
	g := &candidateGate{emit: func(c *webrtc.ICECandidateInit) { p.emit(Candidate{Target: t, Candidate: c}) }}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		var init *webrtc.ICECandidateInit
		if c != nil {
			i := c.ToJSON()
			init = &i
		}
		g.candidate(init)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		// Closed without our asking means the client closed its side
		// (DTLS close_notify); when we close, close returns at once.
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			p.sfu.closeLater(p, ErrConnectionFailed)
		}
	})
	return g
}

func (pub *publisher) handleOffer(sdp string) (string, error) {
	pub.negMu.Lock()
	defer pub.negMu.Unlock()
	if err := pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("sfu: publisher offer: %w", err)
	}
	preferRED(pub.pc)
	answer, err := pub.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("sfu: publisher answer: %w", err)
	}
	if err := pub.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("sfu: publisher answer: %w", err)
	}
	for _, c := range pub.pending {
		_ = pub.pc.AddICECandidate(c)
	}
	pub.pending = nil
	return answer.SDP, nil
}

// preferRED orders the answer's audio codecs: audio/red first whenever the
// offer has it, whatever the offer's order, so that the browser sends RED,
// whose redundancy repairs loss without a round trip; and Opus with
// useinbandfec=1, so that it also carries in-band FEC.
func preferRED(pc *webrtc.PeerConnection) {
	for _, t := range pc.GetTransceivers() {
		if t.Kind() != webrtc.RTPCodecTypeAudio || t.Receiver() == nil {
			continue
		}
		var red, rest []webrtc.RTPCodecParameters
		for _, c := range t.Receiver().GetParameters().Codecs {
			switch {
			case strings.EqualFold(c.MimeType, "audio/red"):
				red = append(red, c)
			case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus):
				if !strings.Contains(c.SDPFmtpLine, "useinbandfec=1") {
					c.SDPFmtpLine = strings.TrimPrefix(c.SDPFmtpLine+";useinbandfec=1", ";")
				}
				rest = append(rest, c)
			default:
				rest = append(rest, c)
			}
		}
		if len(red)+len(rest) > 0 {
			_ = t.SetCodecPreferences(append(red, rest...))
		}
	}
}

// maxPendingCandidates bounds candidates held before a remote description.
const maxPendingCandidates = 64

func (pub *publisher) addCandidate(c *webrtc.ICECandidateInit) error {
	pub.negMu.Lock()
	defer pub.negMu.Unlock()
	if c == nil {
		return nil // end of candidates: pion needs no signal
	}
	if pub.pc.RemoteDescription() == nil {
		if len(pub.pending) >= maxPendingCandidates {
			return errors.New("sfu: too many candidates before the offer")
		}
		pub.pending = append(pub.pending, *c)
		return nil
	}
	return pub.pc.AddICECandidate(*c)
}

// onTrack runs once per simulcast layer of each incoming track, when its
// first packet arrives. The first layer of a transceiver publishes it.
//
// pion calls it again for a rid it already delivered when another SSRC
// claims that rid (an RTX stream carrying rid instead of repaired-rid): the
// layer keeps its reader and its SSRC (the guard in ridguard.go keeps the
// reader on the media stream), and nothing else starts.
func (pub *publisher) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	for _, t := range pub.pc.GetTransceivers() {
		if t.Receiver() == recv {
			mid = t.Mid()
		}
	}
	pub.mu.Lock()
	if pub.closed {
		pub.mu.Unlock()
		return
	}
	pt := pub.byMid[mid]
	if pt == nil {
		pt = pub.newTrack(mid, track, recv)
		if pt == nil {
			pub.mu.Unlock()
			return
		}
	}
	idx := slices.Index(pt.rids, track.RID())
	if idx < 0 || pt.reading[idx] {
		pub.mu.Unlock()
		if idx >= 0 {
			pub.p.log.Debug("a second stream claims a simulcast layer", "mid", mid, "rid", track.RID(), "ssrc", track.SSRC())
		}
		return
	}
	pt.reading[idx] = true
	if !isRTX(track.Codec().MimeType) {
		pt.ssrcs[idx].Store(uint32(track.SSRC()))
	}
	pt.live++
	pub.wg.Add(1)
	pub.mu.Unlock()
	go pub.readLayer(track, pt, idx)
}

func isRTX(mime string) bool { return strings.EqualFold(mime, webrtc.MimeTypeRTX) }

// newTrack publishes a transceiver's track; pub.mu is held.
func (pub *publisher) newTrack(mid string, track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *pubTrack {
	var rids []string
	for _, t := range recv.Tracks() {
		rids = append(rids, t.RID())
	}
	sort.SliceStable(rids, func(a, b int) bool { return ridRank(rids[a]) < ridRank(rids[b]) })
	var level, dd uint8
	for _, h := range recv.GetParameters().HeaderExtensions {
		switch {
		case h.URI == audioLevelURI:
			level = uint8(h.ID)
		case h.URI == ddURI && len(rids) == 1 && codecKindOf(track.Codec().MimeType) == codecAV1:
			dd = uint8(h.ID) // one AV1 stream: SVC by its descriptor
		}
	}
	pt := &pubTrack{pub: pub, mid: mid, id: pub.trackIDLocked(mid), rids: rids, ssrcs: make([]atomic.Uint32, len(rids)), reading: make([]bool, len(rids)),
		svc: svcTrack(track.Kind(), track.Codec().MimeType, len(rids), dd)}
	for _, c := range recv.GetParameters().Codecs {
		if isRTX(c.MimeType) {
			pt.rtxPTs = append(pt.rtxPTs, uint8(c.PayloadType))
		}
	}
	layers := rids
	if len(rids) == 1 && rids[0] == "" {
		layers = nil
	}
	rcv, err := pub.p.PublishTrack(TrackParams{
		ID: pt.id, Kind: track.Kind(), Codec: track.Codec().RTPCodecCapability, Layers: layers,
		AudioLevelExt: level, DDExt: dd, Upstream: pt, Source: pub.p.sourceOf(mid, track.Kind() == webrtc.RTPCodecTypeVideo),
		BackupFor: pub.backupForLocked(mid, track.Kind()),
	})
	if err != nil {
		pub.p.log.Debug("publish track", "err", err)
		return nil
	}
	pt.rcv = rcv
	pub.byMid[mid] = pt
	return pt
}

// readLayer moves one layer's packets from pion into the receiver until the
// track ends; when the last layer of a track ends, the track is
// unpublished.
func (pub *publisher) readLayer(track *webrtc.TrackRemote, pt *pubTrack, idx int) {
	defer pub.wg.Done()
	buf := make([]byte, maxPacketSize)
	for {
		n, attrs, err := track.Read(buf)
		if err != nil && n == 0 {
			break
		}
		if err != nil || !pt.accept(idx, buf[:n], attrs) {
			continue // a packet pion could not type, or not this layer's
		}
		if err := pt.rcv.WriteRTP(idx, buf[:n], time.Now()); errors.Is(err, ErrClosed) {
			break
		}
	}
	pub.mu.Lock()
	pt.live--
	ended := pt.live == 0 && !pub.closed
	if ended {
		delete(pub.byMid, pt.mid)
		delete(pub.ids, pt.mid)
	}
	pub.mu.Unlock()
	if ended {
		pub.p.UnpublishTrack(pt.rcv)
	}
}

// accept binds a layer to the SSRC of its media stream and passes only
// that stream's packets, and pion's decapsulated retransmissions of it
// (which it labels with the track's SSRC). A layer whose first stream was
// an RTX one learns its SSRC from its first media packet.
func (pt *pubTrack) accept(idx int, b []byte, attrs interceptor.Attributes) bool {
	if len(b) < 12 {
		return true // the receiver counts it as bad
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	if attrs != nil && attrs.Get(webrtc.AttributeRtxSsrc) != nil {
		pt.pub.p.stats.publisherRTX.Add(1)
		if bound := pt.ssrcs[idx].Load(); bound != 0 {
			binary.BigEndian.PutUint32(b[8:12], bound)
		}
		return true
	}
	bound := pt.ssrcs[idx].Load()
	if bound == 0 && !slices.Contains(pt.rtxPTs, b[1]&0x7f) {
		pt.ssrcs[idx].Store(ssrc)
		bound = ssrc
	}
	if ssrc != bound {
		pt.pub.p.stats.strayPackets.Add(1)
		return false
	}
	return true
}

// RequestKeyframe sends a PLI for the layer's SSRC.
func (pt *pubTrack) RequestKeyframe(layer int) {
	ssrc := pt.ssrcs[layer].Load()
	if ssrc == 0 {
		return
	}
	if err := pt.pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		// The connection is closing or broken: the request is lost, and
		// the next one (throttled per layer) tries again.
		pt.pub.p.stats.keyframeReqErrors.Add(1)
		pt.pub.p.log.Debug("key frame request not sent", "track", pt.id, "layer", layer, "err", err)
	}
}

// SetLayersWanted asks the browser, through signaling, to keep only the
// wanted simulcast encodings active. An SVC track's one encoding is
// paused when nobody watches it (layers [""] or []); other single-layer
// tracks are left alone.
func (pt *pubTrack) SetLayersWanted(wanted []bool) {
	if len(pt.rids) < 2 && !pt.svc {
		return
	}
	layers := []string{}
	for i, w := range wanted {
		if w && i < len(pt.rids) {
			layers = append(layers, pt.rids[i])
		}
	}
	pt.pub.p.emit(PublishLayers{TrackID: pt.id, Mid: pt.mid, Layers: layers})
}

func (pub *publisher) close() {
	pub.mu.Lock()
	pub.closed = true
	pub.mu.Unlock()
	_ = pub.pc.Close()
	pub.wg.Wait()
}
