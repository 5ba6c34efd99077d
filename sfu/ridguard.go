package sfu

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ridGuardFactory makes the outermost interceptor of publisher connections:
// it keeps a simulcast layer reading its own media stream when the
// publisher's retransmissions claim the layer's rid.
//
// Browsers mark an RTX stream with repaired-rid (RFC 8852), and pion binds
// it as that layer's repair stream. A publisher that copies the original
// packet's rid into RTX (pion's own NACK responder does) makes pion bind
// the RTX stream as the layer itself: the layer's TrackRemote then reads
// only retransmissions, and the media stream is orphaned. The guard sees
// each remote stream's packets as the track reads them; when an RTX stream
// turns out to carry the rid of a layer whose media stream it has seen, it
// reads that media stream in the RTX stream's place (its retransmissions
// are given up and counted as stray). The publisher's layer readers drop
// any packet whose SSRC is not the layer's.
type ridGuardFactory struct{ stats *counters }

// NewInterceptor returns the guard for one publisher connection.
func (f ridGuardFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &ridGuard{stats: f.stats, media: map[string]*guardStream{}}, nil
}

type ridGuard struct {
	interceptor.NoOp
	stats *counters

	mu    sync.Mutex
	media map[string]*guardStream // by "mid/rid": the first media stream seen with it
}

// guardStream is one remote stream as the guard reads it.
type guardStream struct {
	g                    *ridGuard
	inner                interceptor.RTPReader
	rtx                  bool // pion bound it by an RTX payload type
	midID, ridID, rridID uint8

	key      string // "mid/rid" from the first packet that had both; reader goroutine only
	known    bool   // key registered as the media stream of its layer
	pkt      rtp.Header
	redirect atomic.Pointer[guardStream]
}

// BindRemoteStream wraps every remote stream.
func (g *ridGuard) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	gs := &guardStream{g: g, inner: r, rtx: strings.EqualFold(info.MimeType, webrtc.MimeTypeRTX)}
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			gs.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			gs.ridID = uint8(e.ID)
		case sdp.SDESRepairRTPStreamIDURI:
			gs.rridID = uint8(e.ID)
		}
	}
	if gs.ridID == 0 {
		return r // no simulcast: nothing to guard
	}
	return gs
}

// Read reads the stream, or the media stream it stands in for.
func (gs *guardStream) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	if to := gs.redirect.Load(); to != nil {
		return to.inner.Read(b, a)
	}
	n, a, err := gs.inner.Read(b, a)
	if err != nil || n == 0 {
		return n, a, err
	}
	claimsRID := gs.learn(b[:n])
	if !gs.rtx {
		if gs.key != "" && !gs.known {
			gs.known = true
			gs.g.registerMedia(gs)
		}
		return n, a, err
	}
	if !claimsRID {
		return n, a, err // a proper repair stream (repaired-rid), or unlabelled
	}
	m := gs.g.mediaFor(gs.key)
	if m == nil || m == gs {
		return n, a, err // nothing to fall back on: the layer reader drops it
	}
	gs.g.stats.strayPackets.Add(1)
	gs.redirect.Store(m)
	return m.inner.Read(b, a)
}

// learn reads the stream's mid/rid key from a packet until known, and
// reports whether the packet carries a rid without a repaired-rid.
func (gs *guardStream) learn(b []byte) (claimsRID bool) {
	if gs.key != "" && !gs.rtx {
		return false
	}
	if _, err := gs.pkt.Unmarshal(b); err != nil {
		return false
	}
	rid := gs.pkt.GetExtension(gs.ridID)
	if len(rid) == 0 || (gs.rridID != 0 && len(gs.pkt.GetExtension(gs.rridID)) > 0) {
		return false
	}
	if gs.key == "" && gs.midID != 0 {
		if mid := gs.pkt.GetExtension(gs.midID); len(mid) > 0 {
			gs.key = string(mid) + "/" + string(rid)
		}
	}
	return gs.key != ""
}

func (g *ridGuard) registerMedia(gs *guardStream) {
	g.mu.Lock()
	if _, ok := g.media[gs.key]; !ok {
		g.media[gs.key] = gs
	}
	g.mu.Unlock()
}

func (g *ridGuard) mediaFor(key string) *guardStream {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.media[key]
}
