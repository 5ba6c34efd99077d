package trunk

import (
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// flowKey names one forwarded track layer.
type flowKey struct {
	track TrackRef
	layer int
}

func (k flowKey) compare(o flowKey) int {
	if c := strings.Compare(k.track.Origin, o.track.Origin); c != 0 {
		return c
	}
	if c := strings.Compare(k.track.Room, o.track.Room); c != 0 {
		return c
	}
	if c := strings.Compare(k.track.ID, o.track.ID); c != 0 {
		return c
	}
	return k.layer - o.layer
}

// flow is one track layer passing through this node: where it comes from
// (exactly one upstream, so every trunk link carries one copy) and where it
// goes (downstream trunks, and on an access node the local mirror).
type flow struct {
	key  flowKey
	kind string
	mode route.Mode
	// told says where mode and kind came from (flood_order.go): the room
	// record, a subscription's hints, or nowhere yet (meeting, no kind).
	told told

	// up is the upstream peer, the node's own name at the origin, or ""
	// while no route exists. next is the new upstream of a route change:
	// both deliver until next's first packet (make before break).
	up, next string
	nextAt   time.Time
	path     []string
	// standby is a second upstream over a route with a different first
	// hop, taken at once for dual audio (standby.go); its packets are
	// relayed like the upstream's, each sequence number once.
	standby string

	sending bool     // origin: the local side passes this layer out (StartLayer)
	tl      int      // the highest temporal layer wanted downstream (temporal.go)
	down    []string // downstream peers, sorted
	local   bool
	// keyframe: ask the upstream for a key frame at the next sync (the
	// upstream changed, so subscribers downstream lost packets); reorder:
	// restart the reorder buffer at the next packet, for the same reason.
	keyframe, reorder bool

	// outs caches, for fanOut, each downstream's peer and media stream
	// (nil: none open yet), valid while outsGen is the table's gen.
	outs    []fanTarget
	outsGen uint64

	seen seqWindow
	// shift is added to the sequence numbers that come in, and rebase
	// says whether the next packet admitted is checked for a new
	// numbering (after an upstream change; temporal.go).
	shift  uint16
	rebase bool
	unit   fecUnit // which packets sent downstream share an FEC group
	order  reorder // before the local side
	pliAt  time.Time
	// kfLater: a throttled key frame request waits (keyframe_later.go).
	kfLater bool
	lastIn  time.Time
	since   time.Time

	packets, bytes, dups, stale uint64
	switches                    uint64
}

// Timing of route changes.
const (
	// switchTimeout: a new upstream that has not delivered a packet in this
	// long replaces the old one anyway (the layer may simply be idle).
	switchTimeout = 2 * time.Second
	// keyframeEvery throttles key frame requests per flow and node; each
	// SFU receiver throttles its own as well.
	keyframeEvery = 200 * time.Millisecond
	// rejectHold: after a peer refused a subscription, ask again no sooner.
	rejectHold = time.Second
	// maxSubscriptions bounds the tracks one peer may subscribe to here.
	maxSubscriptions = 10_000
)

// fanTarget is where fanOut sends one flow's packets to one downstream.
type fanTarget struct {
	p  *peer
	os *outStream
}

// flowTable is the forwarding table: every flow through the node, with
// its one upstream and its downstreams. It is pure state: it decides, the
// Core does what the decisions need (streams, subscriptions, key frame
// requests). Every change of a flow's upstream goes through switchTo.
type flowTable struct {
	self  string
	log   *slog.Logger
	flows map[flowKey]*flow
	// switches counts upstream changes of all flows, ever.
	switches uint64
	// order is every flow in key order while ordered (the set of flows
	// did not change since it was built); a new slice is built each time,
	// so that a caller may range over an old one while the table changes.
	order   []*flow
	ordered bool
	// gen changes whenever a flow is added or removed, a flow's
	// downstreams change, or a peer's media streams do (the Core calls
	// changed): the per-packet caches (inStream.f, flow.outs) are valid
	// for one gen.
	gen uint64
	// demand is Core.demand's map, emptied and reused by each sync.
	demand map[flowKey]*flowDemand
	// subs is subscriptions' result, reused.
	subs map[string]map[TrackRef]Subscribe
}

// demandScratch empties the demand map of the last sync for the next.
func (t *flowTable) demandScratch() map[flowKey]*flowDemand {
	if t.demand == nil {
		t.demand = map[flowKey]*flowDemand{}
	}
	clear(t.demand)
	return t.demand
}

// changed invalidates the per-packet caches.
func (t *flowTable) changed() { t.gen++ }

func newFlowTable(self string) *flowTable {
	return &flowTable{self: self, log: slog.New(slog.DiscardHandler), flows: map[flowKey]*flow{}, gen: 1}
}

func (t *flowTable) get(k flowKey) *flow { return t.flows[k] }

// sorted returns every flow in key order, for sweeps with side effects.
// The slice is shared: callers must not change it.
func (t *flowTable) sorted() []*flow {
	if t.ordered {
		return t.order
	}
	out := make([]*flow, 0, len(t.flows))
	for _, f := range t.flows {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *flow) int { return a.key.compare(b.key) })
	t.order, t.ordered = out, true
	return out
}

// downstreams counts (flow, downstream peer) pairs: the node's forwarding
// load.
func (t *flowTable) downstreams() int {
	n := 0
	for _, f := range t.flows {
		n += len(f.down)
	}
	return n
}

// flowDemand is what the table must carry for one flow: the downstream
// peers that subscribed to it, and whether the local side watches it.
type flowDemand struct {
	downs []string
	local bool
	hint  trackHint // mode and kind as the subscribers told them
	tl    int       // the highest temporal layer any of them wants (temporal.go)
}

// apply brings the table in line with demand. It returns the flows it
// removed (their streams and local layers must stop) and the flows that
// gained a downstream while already carrying media (the newcomer needs a
// key frame) and those whose mode or kind just became known or changed
// (their streams must reopen). describe gives a flow's room mode and track
// kind; it is asked again, until the room record answers, for flows it
// could not describe from the record (flood_order.go).
func (t *flowTable) apply(now time.Time, demand map[flowKey]*flowDemand,
	describe func(TrackRef, trackHint) trackHint) (removed, joined, retold []*flow) {
	changed := false
	for _, f := range t.sorted() {
		if demand[f.key] == nil {
			delete(t.flows, f.key)
			t.ordered = false
			removed = append(removed, f)
			changed = true
		}
	}
	for k, d := range demand {
		f := t.flows[k]
		if f == nil {
			h := describe(k.track, d.hint)
			f = &flow{key: k, since: now}
			f.setTold(h)
			t.flows[k] = f
			t.ordered = false
			changed = true
		} else if f.told != toldByRecord {
			if h := describe(k.track, d.hint); f.setTold(h) {
				retold = append(retold, f)
				changed = true
			}
		}
		slices.Sort(d.downs)
		added := false
		for _, p := range d.downs {
			if !slices.Contains(f.down, p) {
				added = true
			}
		}
		if !slices.Equal(f.down, d.downs) {
			f.down = slices.Clone(d.downs)
			changed = true
		}
		f.local = d.local
		f.tl = d.tl
		if added && !f.lastIn.IsZero() {
			joined = append(joined, f)
		}
	}
	if changed {
		t.changed() // only then: the per-packet caches stay warm
	}
	slices.SortFunc(joined, func(a, b *flow) int { return a.key.compare(b.key) })
	slices.SortFunc(retold, func(a, b *flow) int { return a.key.compare(b.key) })
	return removed, joined, retold
}

// route sets a flow's upstream from a planned route: at once when the old
// upstream is gone (alive says which peers are up), else make before
// break: the new upstream becomes next and replaces the old one at its
// first packet, or after switchTimeout.
func (t *flowTable) route(now time.Time, f *flow, up string, path []string, alive func(string) bool) {
	f.path = path
	switch {
	case up == f.up:
		f.next = ""
	case f.up == "" || up == "" || (f.up != t.self && !alive(f.up)):
		t.switchTo(f, up, "the old upstream is gone")
	case f.next != up:
		// The new route is asked for a key frame now, not at the switch:
		// its first packets are then already decodable downstream.
		f.next, f.nextAt, f.keyframe = up, now, up != t.self
	case now.Sub(f.nextAt) >= switchTimeout:
		t.switchTo(f, f.next, "the new upstream stayed silent")
	}
}

// switchTo is the one place a flow's upstream changes. A switch to a peer
// asks it for a key frame (subscribers downstream lost packets or must
// start decoding from the new source).
func (t *flowTable) switchTo(f *flow, up, why string) {
	if up == f.up {
		f.next = ""
		return
	}
	t.log.Debug("flow upstream", "track", f.key.track, "layer", f.key.layer, "from", f.up, "to", up, "why", why)
	if f.up != "" { // the first upstream of a new flow is no switch
		f.switches++
		t.switches++
	}
	f.up, f.next = up, ""
	f.keyframe = up != "" && up != t.self
	f.rebase = f.keyframe
	f.reorder = true
	f.pliAt = time.Time{}
}

// peerLost takes a lost trunk out of every flow; a flow it fed moves to
// its make-before-break successor if that is up, else waits for the next
// plan.
func (t *flowTable) peerLost(name string, alive func(string) bool) {
	t.changed()
	for _, f := range t.sorted() {
		if i := slices.Index(f.down, name); i >= 0 {
			f.down = slices.Delete(f.down, i, i+1)
		}
		if f.next == name {
			f.next = ""
		}
		if f.standby == name {
			f.standby = ""
		}
		if f.up == name {
			next := f.next
			if next == "" || !alive(next) {
				next = ""
			}
			t.switchTo(f, next, "trunk to "+name+" lost")
		}
	}
}

// admit decides whether a packet of f that came from peer from is relayed:
// it must come from the upstream or its successor (whose first packet
// completes the switch), and each sequence number passes once. It
// returns the sequence number the packet is relayed with (rebased).
func (t *flowTable) admit(f *flow, from string, seq uint16) (uint16, bool) {
	switch from {
	case f.up:
	case f.standby:
	case f.next:
		t.switchTo(f, f.next, "first packet from the new upstream")
	default:
		f.stale++
		return seq, false
	}
	seq += f.shift
	if f.rebase {
		seq = f.rebaseAt(seq)
	}
	if !f.seen.fresh(seq) {
		f.dups++
		return seq, false
	}
	return seq, true
}

// rebaseAt takes the first packet from a new upstream: if its sequence
// number is more than a window away from the last one relayed, the new
// upstream numbers the layer differently (a temporal cut on its way
// renumbered it, temporal.go), and its packets are shifted to follow on
// (a key frame was asked for with the switch). A backward jump would
// otherwise be dropped as old packets here, or, relayed, make the
// subscribers' forwarders take new packets for ones already sent.
func (f *flow) rebaseAt(seq uint16) uint16 {
	f.rebase = false
	if !f.seen.started {
		return seq
	}
	if d := int(int16(seq - f.seen.top)); d > seqWindowSize || d < -seqWindowSize {
		to := f.seen.top + 1
		f.shift += to - seq
		return to
	}
	return seq
}

// subscriptions is what this node must subscribe to at each upstream
// peer: per track, the layers it takes from there (the current and the
// next upstream of each flow) and the planned path. The maps are reused
// by the next call: callers copy what they keep.
func (t *flowTable) subscriptions() map[string]map[TrackRef]Subscribe {
	if t.subs == nil {
		t.subs = map[string]map[TrackRef]Subscribe{}
	}
	out := t.subs
	for peer, m := range out {
		if len(m) == 0 {
			delete(out, peer) // a peer no flow asked of last time
			continue
		}
		clear(m)
	}
	add := func(peer string, f *flow) {
		if peer == "" || peer == t.self {
			return
		}
		m := out[peer]
		if m == nil {
			m = map[TrackRef]Subscribe{}
			out[peer] = m
		}
		s := m[f.key.track]
		s.Track, s.Path = f.key.track, f.path
		s.Layers |= 1 << f.key.layer
		if f.told != toldNothing {
			s.Mode, s.Kind = string(f.mode), f.kind
		}
		s.TL = withTL(s.TL, f.key.layer, f.tl)
		m[f.key.track] = s
	}
	for _, f := range t.flows {
		add(f.up, f)
		add(f.next, f)
		add(f.standby, f)
	}
	return out
}
