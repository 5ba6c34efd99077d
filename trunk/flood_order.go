package trunk

import "github.com/qrtn/qrtn/trunk/route"

// A forwarding node learns a track's room mode and kind from the room
// record that announces it, and carries the track by them: the route
// (a live room's never crosses an access node), the media streams'
// deadlines and FEC, the reordering hold, standby audio. But records are
// flooded, each hop passing them on when it can (with FloodBatch, up to an
// interval later), while a viewer's subscription goes at once, hop by hop
// along the planned route: in a join storm it often reaches a node before
// the record does. Such a flow used to be made a meeting's, with no kind,
// and stayed so for good: it was never asked again. After a failover its
// node then planned a meeting's route for a live track, through access
// nodes that refused it as a loop, and its viewers froze until the idle
// timeout took the dead node out of every plan (backbone50 with batched
// flooding: 407 stalls against 7).
//
// So a subscription carries the mode and kind its sender knows
// (Subscribe.Mode, Kind), a flow the record cannot describe yet is
// described by them, and such a flow is described again at every sync
// until the record does: the record wins, and a flow whose mode or kind
// changed reopens its streams with the right options.

// told says where a flow's mode and kind came from.
type told uint8

const (
	toldNothing  told = iota // a meeting's, no kind: nothing said otherwise
	toldByHint               // the subscriptions' Mode and Kind
	toldByRecord             // the room record announcing the track
)

// trackHint is a track's room mode and kind, and where they came from.
type trackHint struct {
	mode route.Mode
	kind string
	told told
}

// take adds what a subscription says of its track; the first subscription
// that says something is kept.
func (h *trackHint) take(s Subscribe) {
	if h.told != toldNothing {
		return
	}
	switch route.Mode(s.Mode) {
	case route.Live, route.Meeting:
		h.mode, h.told = route.Mode(s.Mode), toldByHint
	}
	if s.Kind == "audio" || s.Kind == "video" {
		h.kind, h.told = s.Kind, toldByHint
	}
	if h.told == toldByHint && h.mode == "" {
		h.mode = route.Meeting
	}
}

func hintOf(s Subscribe) trackHint {
	var h trackHint
	h.take(s)
	return h
}

// checkHints bounds the hints' size; values this node does not know are
// ignored (take), not refused, so that later ones can be added.
func (s *Subscribe) checkHints() error { return checkNames(s.Mode, s.Kind) }

// describe gives a track's room mode and kind: from the room record if it
// announces the track, else from the subscriptions' hint, else a meeting's
// (the record's mode if the record is held without the track).
func (c *Core) describe(ref TrackRef, hint trackHint) trackHint {
	ts, mode, found := c.rooms.track(ref)
	m := route.Meeting
	if mode == string(route.Live) {
		m = route.Live
	}
	switch {
	case found:
		return trackHint{mode: m, kind: ts.Kind, told: toldByRecord}
	case hint.told != toldNothing:
		return hint
	}
	return trackHint{mode: m}
}

// flowMode is the mode a track is carried in here: its flow's, or as
// described now if it has none.
func (c *Core) flowMode(ref TrackRef) route.Mode {
	for l := range maxLayers {
		if f := c.flows.get(flowKey{ref, l}); f != nil {
			return f.mode
		}
	}
	return c.describe(ref, trackHint{}).mode
}

// setTold describes the flow; it reports whether its mode or kind changed.
func (f *flow) setTold(h trackHint) bool {
	if h.mode == "" {
		h.mode = route.Meeting
	}
	changed := f.mode != h.mode || f.kind != h.kind
	f.mode, f.kind, f.told = h.mode, h.kind, h.told
	return changed
}

// closeStreams closes a flow's media streams to its downstreams. For a
// flow whose mode or kind changed, the sync reopens them with the new
// options (and a Bind that says the kind).
func (c *Core) closeStreams(f *flow) {
	for _, p := range c.peers {
		if os := p.out[f.key]; os != nil {
			_ = os.s.Close()
			delete(p.out, f.key)
			c.flows.changed()
		}
	}
}
