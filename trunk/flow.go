package trunk

import (
	"slices"
	"sort"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/trunk/route"
)

// flowKey names one forwarded track layer.
type flowKey struct {
	track TrackRef
	layer int
}

// flow is one track layer passing through this node: where it comes from
// (exactly one upstream, so every trunk link carries one copy) and where it
// goes (downstream trunks, and on an access node the local mirror).
type flow struct {
	key  flowKey
	kind string
	mode route.Mode

	// up is the upstream peer, the node's own name at the origin, or ""
	// while no route exists. next is the new upstream of a route change:
	// both deliver until next's first packet (make before break).
	up, next string
	nextAt   time.Time
	path     []string

	sink  func() // origin: removes the sink from the local receiver
	down  map[string]bool
	local bool
	// keyframe: ask the upstream for a key frame once it has our
	// subscription (after a switch to a new upstream).
	keyframe bool

	seen   seqWindow
	unit   fecUnit // which packets sent downstream share an FEC group
	order  reorder // before the local SFU
	pliAt  time.Time
	lastIn time.Time
	since  time.Time

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

func (f *flow) dropSink() {
	if f.sink != nil {
		f.sink()
		f.sink = nil
	}
}

// mode returns the route mode of a track's room.
func (t *Trunk) trackMode(ref TrackRef) (route.Mode, string) {
	ts, mode, _ := t.rooms.track(ref)
	kind := ts.Kind
	if mode == string(route.Live) {
		return route.Live, kind
	}
	return route.Meeting, kind
}

// syncFlows recomputes the forwarding table from what downstream peers and
// the local mirror want, plans each track's upstream, opens and closes
// media streams, and sends the subscriptions that changed. It is idempotent:
// it runs after any change and on every re-plan tick.
func (t *Trunk) syncFlows(now time.Time) {
	t.syncing = true
	defer func() { t.syncing = false }()
	want := map[flowKey][]string{} // flow → downstream peers
	local := map[flowKey]bool{}
	for _, name := range t.peerNames() {
		p := t.peers[name]
		if !p.up {
			continue
		}
		for ref, sub := range p.recvSubs {
			for l := range maxLayers {
				if sub.Layers&(1<<l) != 0 {
					want[flowKey{ref, l}] = append(want[flowKey{ref, l}], name)
				}
			}
		}
	}
	if t.access != nil {
		for ref, mask := range t.access.wants() {
			for l := range maxLayers {
				if mask&(1<<l) != 0 {
					local[flowKey{ref, l}] = true
					if _, ok := want[flowKey{ref, l}]; !ok {
						want[flowKey{ref, l}] = nil
					}
				}
			}
		}
	}
	for k, f := range t.flows {
		if _, ok := want[k]; !ok {
			t.removeFlow(k, f)
		}
	}
	tracks := map[TrackRef][]*flow{}
	for k, downs := range want {
		f := t.flows[k]
		if f == nil {
			mode, kind := t.trackMode(k.track)
			f = &flow{key: k, kind: kind, mode: mode, down: map[string]bool{}, since: now}
			t.flows[k] = f
		}
		t.setDownstream(now, f, downs)
		f.local = local[k]
		tracks[k.track] = append(tracks[k.track], f)
	}
	t.planUpstreams(now, tracks)
	t.syncStreams()
	t.syncSubscriptions(now)
	for _, f := range t.flows {
		if f.keyframe {
			f.keyframe, f.pliAt = false, time.Time{}
			t.requestKeyframe(now, f.key)
		}
	}
}

// setDownstream updates a flow's downstream peers; a peer that joins a
// flow already carrying media needs a key frame to start decoding.
func (t *Trunk) setDownstream(now time.Time, f *flow, downs []string) {
	added := false
	for _, d := range downs {
		if !f.down[d] {
			f.down[d] = true
			added = true
		}
	}
	for d := range f.down {
		if !slices.Contains(downs, d) {
			delete(f.down, d)
		}
	}
	if added && !f.lastIn.IsZero() {
		t.requestKeyframe(now, f.key)
	}
}

func (t *Trunk) removeFlow(k flowKey, f *flow) {
	f.dropSink()
	for _, p := range t.peers {
		if os := p.out[k]; os != nil {
			_ = os.s.Close()
			delete(p.out, k)
		}
	}
	delete(t.flows, k)
}

// planUpstreams picks each wanted track's upstream from the planned route
// origin → this node. All layers of a track share the route.
func (t *Trunk) planUpstreams(now time.Time, tracks map[TrackRef][]*flow) {
	g := t.ls.graph(t.cfg.Costs)
	refs := make([]TrackRef, 0, len(tracks))
	for ref := range tracks {
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	planned := map[route.Key]route.Route{}
	for _, ref := range refs {
		flows := tracks[ref]
		if ref.Origin == t.cfg.Name {
			for _, f := range flows {
				f.up, f.next, f.path = t.cfg.Name, "", []string{t.cfg.Name}
				t.ensureSink(now, f)
			}
			continue
		}
		mode, _ := t.trackMode(ref)
		k := route.Key{Source: ref.Origin, Sink: t.cfg.Name, Mode: mode}
		r, ok := planned[k]
		if !ok {
			r, _, ok = t.planner.Plan(now, g, k)
			if !ok {
				r = route.Route{}
			}
			planned[k] = r
		}
		up := r.Upstream(t.cfg.Name)
		if p := t.peers[up]; p == nil || !p.up {
			up = ""
		}
		for _, f := range flows {
			f.path = r.Path
			t.setUpstream(now, f, up)
		}
	}
}

// setUpstream moves a flow to a new upstream: at once when the old one is
// gone, else make-before-break.
func (t *Trunk) setUpstream(now time.Time, f *flow, up string) {
	switch {
	case up == f.up:
		f.next = ""
	case f.up == "" || up == "" || !t.peerUp(f.up):
		if f.up != up {
			f.switches++
			// The subscribers downstream lost packets in the switch.
			f.keyframe = up != ""
		}
		f.up, f.next = up, ""
	case f.next != up:
		f.next, f.nextAt = up, now
	case now.Sub(f.nextAt) >= switchTimeout:
		t.promote(now, f)
	}
}

// promote makes the flow's next upstream its upstream and asks it for a
// key frame, so that subscribers recover from any gap at the switch.
func (t *Trunk) promote(now time.Time, f *flow) {
	f.up, f.next = f.next, ""
	f.switches++
	t.subsDirty = true
	f.pliAt = time.Time{}
	t.requestKeyframe(now, f.key)
}

func (t *Trunk) peerUp(name string) bool {
	p := t.peers[name]
	return p != nil && p.up
}

// syncStreams opens a media stream (announced with Bind) for every
// downstream peer of every flow, and closes those no longer needed.
func (t *Trunk) syncStreams() {
	for _, p := range t.peers {
		for k, os := range p.out {
			if f := t.flows[k]; f == nil || !f.down[p.info.Name] || !p.up {
				_ = os.s.Close()
				delete(p.out, k)
			}
		}
	}
	for k, f := range t.flows {
		for name := range f.down {
			p := t.peers[name]
			if p == nil || !p.up || p.out[k] != nil {
				continue
			}
			sc := t.cfg.Scenarios[string(f.mode)]
			prio := qrtp.PriorityVideo
			if f.kind == "audio" {
				prio = qrtp.PriorityAudio
			}
			srtt := p.conn.Stats().SmoothedRTT
			s, err := p.conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, Priority: prio,
				Deadline: hopDeadline(sc.Deadline, srtt), FECBudget: sc.FECBudget,
				FECLatency: srtt/2 + sc.Latency, Retransmit: qrtp.RetransmitInTime})
			if err != nil {
				t.log.Warn("media stream", "peer", name, "track", k.track, "err", err)
				continue // retried on the next sync
			}
			p.out[k] = &outStream{s: s}
			t.sendControl(p, message{Bind: &Bind{Stream: s.ID(), Track: k.track, Layer: k.layer, Kind: f.kind}})
		}
	}
}

// hopDeadline is a media stream's deadline on a trunk: the scenario's, but
// never so short that a lost packet cannot be retransmitted twice. A loss
// is detected about a round trip after sending and QRTP retransmits only
// while half a round trip remains, so two rounds need 2.5 RTT. A video key
// frame spans tens of packets; without the second round a few percent of
// packets expire, almost no key frame arrives whole, and the far
// subscribers freeze; with it, expiry needs three losses in a row. On short
// trunks the scenario's deadline is the larger and rules.
func hopDeadline(scenario, srtt time.Duration) time.Duration {
	return max(scenario, srtt*11/4+10*time.Millisecond)
}

// syncSubscriptions sends each upstream peer the layers we want from it,
// where that changed.
func (t *Trunk) syncSubscriptions(now time.Time) {
	desired := map[string]map[TrackRef]Subscribe{}
	add := func(peer string, f *flow) {
		if peer == "" || peer == t.cfg.Name {
			return
		}
		m := desired[peer]
		if m == nil {
			m = map[TrackRef]Subscribe{}
			desired[peer] = m
		}
		s := m[f.key.track]
		s.Track, s.Path = f.key.track, f.path
		s.Layers |= 1 << f.key.layer
		m[f.key.track] = s
	}
	for _, f := range t.flows {
		add(f.up, f)
		add(f.next, f)
	}
	for _, name := range t.peerNames() {
		p := t.peers[name]
		if !p.up {
			continue
		}
		for ref, at := range p.rejected {
			if now.Sub(at) >= rejectHold {
				delete(p.rejected, ref)
			}
		}
		want := desired[name]
		for ref, s := range want {
			if at, ok := p.rejected[ref]; ok && now.Sub(at) < rejectHold {
				continue
			}
			if old, ok := p.sentSubs[ref]; ok && old.Layers == s.Layers && slices.Equal(old.Path, s.Path) {
				continue
			}
			p.sentSubs[ref] = s
			t.sendControl(p, message{Subscribe: &s})
		}
		for ref := range p.sentSubs {
			if _, ok := want[ref]; !ok {
				delete(p.sentSubs, ref)
				t.sendControl(p, message{Subscribe: &Subscribe{Track: ref}})
			}
		}
	}
}

// receiveSubscribe records what a downstream peer wants. A subscription
// from a node that is upstream of us on our own route would close a loop:
// we re-plan from scratch, and refuse if it still would.
func (t *Trunk) receiveSubscribe(now time.Time, p *peer, s Subscribe) {
	t.subsDirty = true
	if s.Layers == 0 {
		delete(p.recvSubs, s.Track)
		return
	}
	if _, known := p.recvSubs[s.Track]; !known && len(p.recvSubs) >= maxSubscriptions {
		t.sendControl(p, message{Unavailable: &Unavailable{Track: s.Track, Reason: "limit"}})
		return
	}
	if s.Track.Origin != t.cfg.Name {
		mode, _ := t.trackMode(s.Track)
		k := route.Key{Source: s.Track.Origin, Sink: t.cfg.Name, Mode: mode}
		g := t.ls.graph(t.cfg.Costs)
		if r, _, ok := t.planner.Plan(now, g, k); ok && slices.Contains(r.Path, p.info.Name) {
			t.planner.Forget(k)
			if r, _, ok = t.planner.Plan(now, g, k); ok && slices.Contains(r.Path, p.info.Name) {
				t.stats.loopsRefused++
				delete(p.recvSubs, s.Track)
				t.sendControl(p, message{Unavailable: &Unavailable{Track: s.Track, Reason: "loop"}})
				return
			}
		}
	}
	p.recvSubs[s.Track] = s
}

// receiveUnavailable: the peer refused our subscription; plan afresh and
// ask again after rejectHold. A refusal of a track we never asked the peer
// for is ignored, so a peer cannot grow the map with invented references;
// the map holds at most the tracks we subscribe to there.
func (t *Trunk) receiveUnavailable(now time.Time, p *peer, u Unavailable) {
	if _, asked := p.sentSubs[u.Track]; !asked {
		return
	}
	mode, _ := t.trackMode(u.Track)
	t.planner.Forget(route.Key{Source: u.Track.Origin, Sink: t.cfg.Name, Mode: mode})
	delete(p.sentSubs, u.Track)
	p.rejected[u.Track] = now
	t.subsDirty = true
}

// requestKeyframe passes a key frame request towards the publisher.
func (t *Trunk) requestKeyframe(now time.Time, k flowKey) {
	f := t.flows[k]
	if f == nil && t.subsDirty && !t.syncing {
		// The subscription that creates the flow came in the same batch.
		t.subsDirty = false
		t.syncFlows(now)
		f = t.flows[k]
	}
	if f == nil || now.Sub(f.pliAt) < keyframeEvery {
		return
	}
	f.pliAt = now
	t.stats.keyframes++
	if f.up == t.cfg.Name {
		if t.access != nil {
			t.access.requestKeyframe(k)
		}
		return
	}
	for _, up := range []string{f.up, f.next} {
		if p := t.peers[up]; p != nil && p.up {
			t.sendControl(p, message{Keyframe: &Keyframe{Track: k.track, Layer: k.layer}})
		}
	}
}

// ensureSink takes a locally published layer out of the SFU.
func (t *Trunk) ensureSink(now time.Time, f *flow) {
	if f.sink != nil || t.access == nil {
		return
	}
	if rm := t.access.addSink(f.key); rm != nil {
		f.sink = rm
		t.requestKeyframe(now, f.key)
	}
}

// peerLost takes a lost trunk out of every flow; flows it fed are
// re-planned by the next sync.
func (t *Trunk) peerLost(now time.Time, name string) {
	for _, f := range t.flows {
		delete(f.down, name)
		if f.up == name {
			f.up = ""
			if f.next != "" && t.peerUp(f.next) {
				t.promote(now, f)
			}
		}
		if f.next == name {
			f.next = ""
		}
	}
	t.subsDirty = true
}

// originGone drops what a node that left the network had announced.
func (t *Trunk) originGone(now time.Time, origin string) {
	for _, room := range t.rooms.dropOrigin(origin) {
		if t.access != nil {
			t.access.remoteChanged(room)
		}
	}
	t.subsDirty = true
}

func (t *Trunk) peerNames() []string {
	names := make([]string, 0, len(t.peers))
	for n := range t.peers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
