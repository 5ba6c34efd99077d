package trunk

import (
	"slices"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// Temporal layers across trunks: a trunk carries, of each layer of a VP9
// or AV1 track, only the temporal layers (frame-rate steps) somebody
// downstream wants, as it carries only the layers somebody wants.
//
// The wanted temporal layers travel with the layers, in Subscribe.TL (one
// highest temporal layer per layer; PROTOCOL.md, "sub"): an access node
// sends what its mirror of the track says (WantTemporal: the highest
// temporal layer any local subscriber of the layer gets or moves to, after
// its bandwidth and frame-rate choice), a forwarding node the highest of
// its downstream peers' and its local side's (flowDemand.tl). A peer that
// says nothing (an older one) wants every temporal layer.
//
// The node that sends a layer to a peer, the origin or a forwarding node,
// takes the temporal layers the peer does not want out of that peer's
// media stream (outStream.cut, an sfu.TemporalCut, which knows the codecs):
// down at the next picture, up at the codec's next switch-up point, the
// sequence numbers closed over what it dropped. Each downstream peer has
// its own cut, so one peer's viewers at full frame rate cost another's
// trunk nothing. The local side of a node gets every temporal layer its
// upstream sends: its SFU's down-tracks choose for each subscriber.

// WantTemporal is the local side's input: by layer, the highest temporal
// layer (0 to 7; 7 or a layer past the end: every one) of a remote track
// that local subscribers watch. Want of no layers forgets it.
func (c *Core) WantTemporal(now time.Time, ref TrackRef, tl []int) {
	c.now = now
	tl = normalTL(tl)
	if slices.Equal(c.wantTL[ref], tl) {
		return
	}
	if tl == nil {
		delete(c.wantTL, ref)
	} else {
		c.wantTL[ref] = tl
	}
	c.subsDirty = true
}

// normalTL clamps entries to 0..allTL and returns nil for a list that
// wants every temporal layer of every layer.
func normalTL(tl []int) []int {
	all := true
	out := make([]int, min(len(tl), maxLayers))
	for i := range out {
		out[i] = min(max(tl[i], 0), allTL)
		all = all && out[i] == allTL
	}
	if all {
		return nil
	}
	return out
}

// wantedTL is layer l's entry of tl (allTL past its end).
func wantedTL(tl []int, l int) int {
	if l < 0 || l >= len(tl) {
		return allTL
	}
	return tl[l]
}

// withTL sets layer l's entry of a Subscribe's TL to t (t < 0: nobody said,
// every layer), filling the entries before it with allTL; a TL that wants
// every temporal layer of every layer becomes nil.
func withTL(tl []int, l, t int) []int {
	if t < 0 || t > allTL {
		t = allTL
	}
	if t == allTL && l >= len(tl) {
		return tl
	}
	for len(tl) <= l {
		tl = append(tl, allTL)
	}
	tl[l] = t
	return normalTL(tl)
}

// newCut is the temporal cut of a new media stream of f to p: nil unless
// the track is video of a codec with temporal layers.
func (c *Core) newCut(f *flow, p *peer) *sfu.TemporalCut {
	if f.kind != "video" {
		return nil
	}
	ts, _, ok := c.rooms.track(f.key.track)
	if !ok {
		return nil
	}
	cut := sfu.NewTemporalCut(ts.Mime, ts.DDExt, f.key.layer)
	if cut != nil {
		sub := p.recvSubs[f.key.track]
		cut.SetMax(sub.temporal(f.key.layer))
	}
	return cut
}

// setCut brings a media stream's cut in line with what its peer wants.
func (c *Core) setCut(os *outStream, p *peer, k flowKey) {
	if os.cut == nil {
		return
	}
	sub := p.recvSubs[k.track]
	if t := sub.temporal(k.layer); t != os.cut.Max() {
		os.cut.SetMax(t)
	}
}

// FlowOut is what one media stream of a flow carried to its peer.
type FlowOut struct {
	Peer    string `json:"peer"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// TL is the highest temporal layer the peer wants (7: every one), and
	// TLDropped counts the packets of higher ones not sent to it.
	TL        int    `json:"tl"`
	TLDropped uint64 `json:"tl_dropped,omitempty"`
}

// flowOuts describes f's media streams, by peer.
func (c *Core) flowOuts(f *flow) []FlowOut {
	var out []FlowOut
	for _, name := range f.down {
		p := c.byName[name]
		if p == nil {
			continue
		}
		os := p.out[f.key]
		if os == nil {
			continue
		}
		fo := FlowOut{Peer: name, Packets: os.packets, Bytes: os.bytes, TL: allTL}
		if os.cut != nil {
			fo.TL, fo.TLDropped = os.cut.Max(), os.cut.Dropped
		}
		out = append(out, fo)
	}
	return out
}

// SetTemporalWanted is the mirrored track's Upstream call
// (sfu.TemporalUpstream): the highest temporal layer its subscribers want,
// by layer.
func (u *ghostUpstream) SetTemporalWanted(tl []int) {
	tl = slices.Clone(tl)
	u.a.calls.push(func(now time.Time) {
		if !u.gt.gone {
			u.a.core.WantTemporal(now, u.gt.ref, tl)
		}
	})
}
