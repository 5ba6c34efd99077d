package trunk

import (
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/trunk/route"
)

// This file keeps the forwarding table in line with what is wanted: the
// demand (downstream subscriptions and local wants), the routes, the media
// streams and the subscriptions this node sends upstream.

// Want is the local side's input: the layers of a remote track that local
// subscribers watch (bit i: layer i; 0: none).
func (c *Core) Want(now time.Time, ref TrackRef, layers uint32) {
	c.now = now
	if c.wants[ref] == layers {
		return
	}
	if layers == 0 {
		delete(c.wants, ref)
		delete(c.wantTL, ref)
	} else {
		c.wants[ref] = layers
	}
	c.subsDirty = true
}

// RequestKeyframe is the local side's input: a local subscriber of a
// remote track needs a key frame of a layer.
func (c *Core) RequestKeyframe(now time.Time, ref TrackRef, layer int) {
	c.now = now
	c.requestKeyframe(now, flowKey{ref, layer})
}

// syncFlows recomputes the forwarding table from what downstream peers and
// the local side want, plans each track's upstream, opens and closes
// media streams, and sends the subscriptions that changed. It is
// idempotent: it runs after any change and on every re-plan tick.
func (c *Core) syncFlows(now time.Time) {
	c.syncing = true
	defer func() { c.syncing = false }()
	removed, joined, retold := c.flows.apply(now, c.demand(), c.describe)
	for _, f := range removed {
		c.closeFlow(f)
	}
	for _, f := range retold {
		c.closeStreams(f)
	}
	for _, f := range joined {
		c.requestKeyframe(now, f.key)
	}
	c.planUpstreams(now)
	c.syncStreams(now)
	c.syncSubscriptions(now)
	for _, f := range c.flows.sorted() {
		if f.keyframe {
			f.keyframe, f.pliAt = false, time.Time{}
			c.requestKeyframe(now, f.key)
		}
	}
}

// demand is what the forwarding table must carry. The map is the table's
// scratch, emptied by the next call (a sync runs every few milliseconds
// during a join storm; apply keeps nothing of it).
func (c *Core) demand() map[flowKey]*flowDemand {
	d := c.flows.demandScratch()
	at := func(k flowKey) *flowDemand {
		fd := d[k]
		if fd == nil {
			fd = &flowDemand{tl: -1}
			d[k] = fd
		}
		return fd
	}
	for _, p := range c.peers {
		if !p.up {
			continue
		}
		for ref, sub := range p.recvSubs {
			for l := range maxLayers {
				if sub.Layers&(1<<l) != 0 {
					fd := at(flowKey{ref, l})
					fd.downs = append(fd.downs, p.info.Name)
					fd.hint.take(sub)
					fd.tl = max(fd.tl, sub.temporal(l))
				}
			}
		}
	}
	if c.local != nil {
		for ref, mask := range c.wants {
			for l := range maxLayers {
				if mask&(1<<l) != 0 {
					fd := at(flowKey{ref, l})
					fd.local = true
					fd.tl = max(fd.tl, wantedTL(c.wantTL[ref], l))
				}
			}
		}
	}
	return d
}

// closeFlow stops what a removed flow had running.
func (c *Core) closeFlow(f *flow) {
	c.stopSending(f)
	c.closeStreams(f)
	delete(c.holding, f)
}

// planUpstreams picks each wanted track's upstream from the planned route
// origin → this node. All layers of a track share the route.
func (c *Core) planUpstreams(now time.Time) {
	g := c.graph()
	planned := map[route.Key]route.Route{}
	for _, f := range c.flows.sorted() {
		ref := f.key.track
		if ref.Origin == c.cfg.Name {
			f.up, f.next, f.path = c.cfg.Name, "", []string{c.cfg.Name}
			c.startSending(now, f)
			continue
		}
		k := route.Key{Source: ref.Origin, Sink: c.cfg.Name, Mode: f.mode}
		r, ok := planned[k]
		if !ok {
			r, _, ok = c.planner.Plan(now, g, k)
			if !ok {
				r = route.Route{}
			}
			planned[k] = r
		}
		up, path := r.Upstream(c.cfg.Name), r.Path
		if !c.usable(up) {
			up = ""
		}
		if up == "" && c.suspectUp(f.up) {
			// No route avoids a suspect upstream: it is still up, and
			// keeps the flow. Dropping it unsubscribed the track hop by
			// hop to the publisher, whose layers dynacast then paused, so
			// that a node starved of CPU for 300 ms lost its video for
			// seconds (or, if the layer was the one just switched to, for
			// good), where no other route could have done better.
			up, path = f.up, f.path
		}
		// A suspect upstream is still up: the flow moves make-before-break,
		// taking packets from both until the new route delivers, so a
		// trunk that was only briefly silent loses nothing more.
		c.flows.route(now, f, up, path, c.peerUp)
		c.planStandby(f)
	}
}

// startSending takes a locally published layer out of the local side.
func (c *Core) startSending(now time.Time, f *flow) {
	if f.sending || c.local == nil {
		return
	}
	if c.local.StartLayer(f.key.track, f.key.layer) {
		f.sending = true
		c.requestKeyframe(now, f.key)
	}
}

func (c *Core) stopSending(f *flow) {
	if f.sending {
		f.sending = false
		c.local.StopLayer(f.key.track, f.key.layer)
	}
}

// syncStreams opens a media stream (announced with Bind) for every
// downstream peer of every flow, and closes those no longer needed.
func (c *Core) syncStreams(now time.Time) {
	for _, p := range c.peers {
		for k, os := range p.out {
			if f := c.flows.get(k); f == nil || !slices.Contains(f.down, p.info.Name) || !p.up {
				_ = os.s.Close()
				delete(p.out, k)
				c.flows.changed()
			}
		}
	}
	for _, f := range c.flows.sorted() {
		for _, name := range f.down {
			p := c.byName[name]
			if p == nil || !p.up {
				continue
			}
			if os := p.out[f.key]; os != nil {
				c.setCut(os, p, f.key)
				continue
			}
			c.openMedia(now, p, f)
		}
	}
}

// openMedia opens the message stream that carries f to p, with the room's
// scenario, and announces it.
func (c *Core) openMedia(now time.Time, p *peer, f *flow) {
	sc := c.cfg.Scenarios[string(f.mode)]
	prio := qrtp.PriorityVideo
	if f.kind == "audio" {
		prio = qrtp.PriorityAudio
	}
	srtt := p.conn.Stats().SmoothedRTT
	s, err := p.conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, Priority: prio,
		Deadline: hopDeadline(sc.Deadline, srtt), FECBudget: sc.FECBudget,
		FECLatency: srtt/2 + sc.Latency, Retransmit: qrtp.RetransmitInTime})
	if err != nil {
		c.log.Warn("media stream", "peer", p.info.Name, "track", f.key.track, "err", err)
		return // retried on the next sync
	}
	p.out[f.key] = &outStream{s: s, cut: c.newCut(f, p), latency: sc.Latency}
	c.flows.changed()
	c.sendControl(now, p, message{Bind: &Bind{Stream: s.ID(), Track: f.key.track, Layer: f.key.layer, Kind: f.kind}})
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
func (c *Core) syncSubscriptions(now time.Time) {
	desired := c.flows.subscriptions()
	for _, p := range c.peers {
		if !p.up {
			continue
		}
		for ref, at := range p.rejected {
			if now.Sub(at) >= rejectHold {
				delete(p.rejected, ref)
			}
		}
		// Only what changed is sorted (into the order of the refs' String
		// forms) and sent: most syncs change little of a large table.
		want := desired[p.info.Name]
		var send, drop []TrackRef
		for ref, s := range want {
			if at, ok := p.rejected[ref]; ok && now.Sub(at) < rejectHold {
				continue
			}
			if old, ok := p.sentSubs[ref]; ok && old.Layers == s.Layers && slices.Equal(old.Path, s.Path) &&
				old.Mode == s.Mode && old.Kind == s.Kind && slices.Equal(old.TL, s.TL) {
				continue
			}
			send = append(send, ref)
		}
		for ref := range p.sentSubs {
			if _, ok := want[ref]; !ok {
				drop = append(drop, ref)
			}
		}
		conn := p.conn
		for _, ref := range sortRefs(send) {
			s := want[ref]
			p.sentSubs[ref] = s
			c.sendControl(now, p, message{Subscribe: &s})
		}
		for _, ref := range sortRefs(drop) {
			if p.conn != conn {
				break // the trunk closed (control backlog) and was reset
			}
			delete(p.sentSubs, ref)
			c.sendControl(now, p, message{Subscribe: &Subscribe{Track: ref}})
		}
	}
}

// sortedRefs returns a map's refs in the order of their String forms.
func sortedRefs[V any](m map[TrackRef]V) []TrackRef {
	out := make([]TrackRef, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	return sortRefs(out)
}

// sortRefs sorts refs in the order of their String forms.
func sortRefs(refs []TrackRef) []TrackRef {
	slices.SortFunc(refs, compareRefStrings)
	return refs
}

// compareRefStrings compares a.String() with b.String() without building
// them: origin, room and ID joined by "/", compared byte by byte.
func compareRefStrings(a, b TrackRef) int {
	if a.Origin == b.Origin && a.Room == b.Room {
		return strings.Compare(a.ID, b.ID)
	}
	x := [5]string{a.Origin, "/", a.Room, "/", a.ID}
	y := [5]string{b.Origin, "/", b.Room, "/", b.ID}
	i, j := 0, 0 // the current parts; x[i] and y[j] are what is left of them
	for {
		for i < len(x) && x[i] == "" {
			i++
		}
		for j < len(y) && y[j] == "" {
			j++
		}
		switch {
		case i == len(x) && j == len(y):
			return 0
		case i == len(x):
			return -1
		case j == len(y):
			return 1
		}
		n := min(len(x[i]), len(y[j]))
		if c := strings.Compare(x[i][:n], y[j][:n]); c != 0 {
			return c
		}
		x[i], y[j] = x[i][n:], y[j][n:]
	}
}

// receiveSubscribe records what a downstream peer wants. A subscription
// from a node that is upstream of us on our own route would close a loop:
// we re-plan from scratch, and refuse if it still would.
func (c *Core) receiveSubscribe(now time.Time, p *peer, s Subscribe) {
	c.subsDirty = true
	if s.Layers == 0 {
		delete(p.recvSubs, s.Track)
		return
	}
	if _, known := p.recvSubs[s.Track]; !known && len(p.recvSubs) >= maxSubscriptions {
		c.sendControl(now, p, message{Unavailable: &Unavailable{Track: s.Track, Reason: "limit"}})
		return
	}
	if s.Track.Origin != c.cfg.Name {
		mode := c.describe(s.Track, hintOf(s)).mode
		k := route.Key{Source: s.Track.Origin, Sink: c.cfg.Name, Mode: mode}
		g := c.graph()
		if r, _, ok := c.planner.Plan(now, g, k); ok && slices.Contains(r.Path, p.info.Name) {
			c.planner.Forget(k)
			if r, _, ok = c.planner.Plan(now, g, k); ok && slices.Contains(r.Path, p.info.Name) {
				c.stats.loopsRefused++
				delete(p.recvSubs, s.Track)
				c.sendControl(now, p, message{Unavailable: &Unavailable{Track: s.Track, Reason: "loop"}})
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
func (c *Core) receiveUnavailable(now time.Time, p *peer, u Unavailable) {
	if _, asked := p.sentSubs[u.Track]; !asked {
		return
	}
	mode := c.flowMode(u.Track)
	c.planner.Forget(route.Key{Source: u.Track.Origin, Sink: c.cfg.Name, Mode: mode})
	delete(p.sentSubs, u.Track)
	p.rejected[u.Track] = now
	c.subsDirty = true
}

// requestKeyframe passes a key frame request towards the publisher.
func (c *Core) requestKeyframe(now time.Time, k flowKey) {
	f := c.flows.get(k)
	if f == nil && c.subsDirty && !c.syncing {
		// The subscription that creates the flow came in the same batch.
		c.subsDirty = false
		c.syncFlows(now)
		f = c.flows.get(k)
	}
	if f == nil {
		return
	}
	if now.Sub(f.pliAt) < keyframeEvery {
		c.deferKeyframe(f) // keyframe_later.go
		return
	}
	f.pliAt, f.kfLater = now, false
	c.stats.keyframes++
	if f.up == c.cfg.Name {
		if c.local != nil {
			c.local.RequestKeyframe(k.track, k.layer)
		}
		return
	}
	for _, up := range []string{f.up, f.next} {
		if p := c.byName[up]; p != nil && p.up {
			c.sendControl(now, p, message{Keyframe: &Keyframe{Track: k.track, Layer: k.layer}})
		}
	}
}

// peerLost takes a lost trunk out of every flow; flows it fed are
// re-planned by the next sync.
func (c *Core) peerLost(name string) {
	c.flows.peerLost(name, c.usable)
	c.subsDirty = true
}
