package node

import (
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/qoe/alert"
	"github.com/qrtn/qrtn/qoe/collect"
	"github.com/qrtn/qrtn/qoe/sla"
	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/trunk"
)

// sampler is the sampler goroutine's state: the previous cumulative
// counters it turns into per-interval records, and the routes it saw.
type sampler struct {
	last     time.Time
	lastDown time.Time
	hops     map[string]trunk.TrunkStatus // by peer
	routes   map[string]string            // room/track/layer → path
	downs    map[string]downPrev          // session/publisher/track
	ups      map[string]uint64            // session/track → packets
	gaps     map[string]int               // session/track → longest gap seen since the last up sample, ms
	cpu      time.Duration
	drops    uint64
	// view is the latest network view for the latency estimator.
	view atomic.Pointer[routeView]
}

type downPrev struct{ plis, nacks, resent uint64 }

// routeView is what the estimator needs of the network: each local track's
// route, every link's RTT, every node's region.
type routeView struct {
	paths   map[string][]string // room/track → path from the origin
	rtt     map[string]float64  // "from→to" → ms
	regions map[string]string   // node → region
}

func (q *qualityPlane) run() {
	defer close(q.done)
	t := time.NewTicker(q.cfg.SampleEvery)
	defer t.Stop()
	g := time.NewTicker(gapEvery)
	defer g.Stop()
	q.samp.last, q.samp.lastDown = time.Now(), time.Now()
	q.samp.cpu = processCPU()
	for {
		select {
		case <-q.stop:
			return
		case now := <-t.C:
			q.sample(now)
		case now := <-g.C:
			q.sampleGaps(now)
		}
	}
}

// sample records one interval of the node, its trunks and, every
// downEvery, its subscriptions and publications; then feeds the alerts.
func (q *qualityPlane) sample(now time.Time) {
	start, end := q.samp.last.UnixMilli(), now.UnixMilli()
	secs := now.Sub(q.samp.last).Seconds()
	q.samp.last = now
	var recs []qoe.Record
	var obs []observation
	drops := uint64(0)
	if t := q.n.trunk; t != nil {
		st := t.Status()
		drops = st.DeliverDrops + st.SinkDrops
		recs, obs = q.sampleTrunk(st, start, end, secs)
		recs = append(recs, q.sampleRoutes(st, end)...)
	}
	cpu := processCPU()
	cores := runtime.NumCPU()
	used := (cpu - q.samp.cpu).Seconds() / max(secs, 1e-3)
	q.samp.cpu = cpu
	ns := qoe.NodeSample{Node: q.n.cfg.Name, Region: q.n.cfg.Region, Start: start, End: end, CPU: used, Cores: cores,
		Drops: int(drops - min(q.samp.drops, drops))}
	q.samp.drops = drops
	recs = append(recs, ns)
	obs = append(obs, observation{alert.NodeCPU, q.n.cfg.Name, used / float64(cores)})
	if now.Sub(q.samp.lastDown) >= q.cfg.SubscriptionEvery {
		recs = append(recs, q.sampleSFU(q.samp.lastDown.UnixMilli(), end)...)
		q.samp.lastDown = now
		obs = append(obs, q.slaObservations(end)...)
	}
	q.add(recs...)
	var raised []qoe.Alert
	q.mu.Lock()
	for _, o := range obs {
		if a, ok := q.alerts.Observe(end, o.kind, o.subject, o.value); ok {
			raised = append(raised, a)
		}
	}
	q.mu.Unlock()
	for _, a := range raised {
		q.raise(a)
	}
}

type observation struct {
	kind, subject string
	value         float64
}

// sampleTrunk records every trunk this node sends on, as a hop self→peer.
func (q *qualityPlane) sampleTrunk(st trunk.Status, start, end int64, secs float64) ([]qoe.Record, []observation) {
	if q.samp.hops == nil {
		q.samp.hops = map[string]trunk.TrunkStatus{}
	}
	self := q.n.cfg.Name
	var recs []qoe.Record
	var obs []observation
	seen := map[string]bool{}
	for _, ts := range st.Trunks {
		seen[ts.Peer] = true
		prev, had := q.samp.hops[ts.Peer]
		q.samp.hops[ts.Peer] = ts
		if !had {
			continue // the first look only sets the baseline
		}
		h := qoe.HopSample{From: self, To: ts.Peer, Start: start, End: end, Up: ts.Up, RTTMs: ts.RTTMs, Loss: ts.Loss,
			FECK: ts.FECK, FECM: ts.FECM, Rebuilt: int(delta(ts.FECPeerRecovered, prev.FECPeerRecovered)),
			RetxBytes: int64(delta(ts.RetransmittedBytes, prev.RetransmittedBytes)), SentBytes: int64(delta(ts.BytesSent, prev.BytesSent)),
			MediaBytes: int64(delta(ts.MediaBytesSent, prev.MediaBytesSent)), FECBytes: int64(delta(ts.FECBytes, prev.FECBytes)),
			Expired: int(delta(ts.MessagesExpired, prev.MessagesExpired)), MediaDrops: int(delta(ts.MediaDrops, prev.MediaDrops)),
			PTOs:        int(delta(ts.PTOs, prev.PTOs)),
			BandwidthBp: ts.Bandwidth}
		if secs > 0 {
			h.BitrateBps = float64(h.SentBytes) * 8 / secs
		}
		recs = append(recs, h)
		name := qoe.HopName(self, ts.Peer)
		down := 0.0
		if !ts.Up {
			down = 1
		}
		obs = append(obs, observation{alert.LinkDown, name, down})
		if ts.Up {
			obs = append(obs, observation{alert.LinkLoss, name, ts.Loss}, observation{alert.LinkRTT, name, ts.RTTMs},
				observation{alert.LinkExpired, name, float64(h.Expired) / max(secs, 1e-3)})
		}
	}
	for peer := range q.samp.hops {
		if !seen[peer] {
			delete(q.samp.hops, peer)
			for _, k := range []string{alert.LinkDown, alert.LinkLoss, alert.LinkRTT, alert.LinkExpired} {
				q.mu.Lock()
				a, ok := q.alerts.Forget(end, k, qoe.HopName(self, peer))
				q.mu.Unlock()
				if ok {
					q.raise(a)
				}
			}
		}
	}
	return recs, obs
}

// delta is cur−prev for a counter that may restart (a new connection).
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// sampleRoutes records the route of every track layer this node delivers
// to its own subscribers when it changes, and refreshes the estimator's
// view of the network.
func (q *qualityPlane) sampleRoutes(st trunk.Status, at int64) []qoe.Record {
	if q.samp.routes == nil {
		q.samp.routes = map[string]string{}
	}
	view := &routeView{paths: map[string][]string{}, rtt: map[string]float64{}, regions: map[string]string{}}
	for _, n := range st.Nodes {
		view.regions[n.Name] = n.Region
	}
	for _, l := range st.Links {
		view.rtt[qoe.HopName(l.From, l.To)] = l.RTTMs
	}
	var recs []qoe.Record
	seen := map[string]bool{}
	for _, f := range st.Flows {
		if !f.Local || f.Origin == q.n.cfg.Name {
			continue
		}
		key := f.Room + "/" + f.Track + "/" + itoa(f.Layer)
		path := strings.Join(f.Path, " ")
		seen[key] = true
		view.paths[f.Room+"/"+f.Track] = f.Path
		if q.samp.routes[key] != path {
			q.samp.routes[key] = path
			recs = append(recs, qoe.Route{Node: q.n.cfg.Name, Room: f.Room, Origin: f.Origin, Track: f.Track, Layer: f.Layer,
				At: at, Path: append([]string{}, f.Path...)})
		}
	}
	for key := range q.samp.routes {
		if !seen[key] {
			delete(q.samp.routes, key)
		}
	}
	q.samp.view.Store(view)
	return recs
}

func itoa(v int) string {
	if v < 0 || v > 9 {
		return "x"
	}
	return string(rune('0' + v))
}

// estimator estimates a received track's end-to-end latency from its
// route (see sla.EstimateE2E): a local publisher's own RTT when it is on
// this node, the trunk hops' RTTs along the route otherwise.
func (q *qualityPlane) estimator(room string) collect.Estimator {
	view := q.samp.view.Load()
	return func(publisher, track string, jb, rtt float64) (string, float64) {
		pubRTT, local := q.localRTT(room, publisher)
		if local {
			return q.n.cfg.Region, sla.EstimateE2E(pubRTT, nil, jb, rtt)
		}
		if view == nil {
			return "", 0
		}
		path := view.paths[room+"/"+track]
		if len(path) < 2 {
			return "", 0
		}
		hops := make([]float64, 0, len(path)-1)
		for i := 0; i+1 < len(path); i++ {
			hops = append(hops, view.rtt[qoe.HopName(path[i], path[i+1])])
		}
		return view.regions[path[0]], sla.EstimateE2E(0, hops, jb, rtt)
	}
}

// localRTT is the RTT a publisher on this node reported, and whether it
// is on this node.
func (q *qualityPlane) localRTT(room, participant string) (float64, bool) {
	q.mu.Lock()
	s := q.byName[nameKey(room, participant)]
	q.mu.Unlock()
	if s == nil {
		return 0, false
	}
	return math.Float64frombits(s.rtt.Load()), true
}

// nameKey keys a session by room and participant.
func nameKey(room, participant string) string { return room + "\x00" + participant }

// gapEvery is how often the publishers' tracks are looked at for gaps in
// what they send: a few atomic loads per track.
const gapEvery = 100 * time.Millisecond

// sampleGaps notes, for every unmuted track a local participant publishes,
// how long ago its newest packet arrived; the longest since the last up
// sample goes into it (MaxGapMs), as uplink evidence.
func (q *qualityPlane) sampleGaps(now time.Time) {
	s := q.n.sfu
	if s == nil {
		return
	}
	if q.samp.gaps == nil {
		q.samp.gaps = map[string]int{}
	}
	q.mu.Lock()
	sessions := make([]signaling.SessionInfo, 0, len(q.sessions))
	for _, x := range q.sessions {
		sessions = append(sessions, x.info)
	}
	q.mu.Unlock()
	for _, info := range sessions {
		room := s.Room(info.Room)
		if room == nil {
			continue
		}
		p := room.Participant(info.Participant)
		if p == nil {
			continue
		}
		for _, r := range p.Tracks() {
			last := r.LastArrival()
			if last.IsZero() || r.Muted() {
				continue
			}
			key := info.ID + "/" + r.ID()
			q.samp.gaps[key] = max(q.samp.gaps[key], int(now.Sub(last).Milliseconds()))
		}
	}
}

// sampleSFU records, for every session on this node, what its
// subscriptions received from the node and what the node received of its
// publications.
func (q *qualityPlane) sampleSFU(start, end int64) []qoe.Record {
	s := q.n.sfu
	if s == nil {
		return nil
	}
	if q.samp.downs == nil {
		q.samp.downs, q.samp.ups = map[string]downPrev{}, map[string]uint64{}
	}
	q.mu.Lock()
	sessions := make([]*qsession, 0, len(q.sessions))
	for _, x := range q.sessions {
		sessions = append(sessions, x)
	}
	q.mu.Unlock()
	var recs []qoe.Record
	downs, ups := map[string]downPrev{}, map[string]uint64{}
	for _, qs := range sessions {
		tick := qs.tick(end)
		q.account(tick)
		room := s.Room(qs.info.Room)
		if room == nil {
			continue
		}
		p := room.Participant(qs.info.Participant)
		if p == nil {
			continue
		}
		stats, est := p.QualityStats()
		for _, d := range stats {
			key := qs.info.ID + "/" + d.Publisher + "/" + d.Track
			prev := q.samp.downs[key]
			downs[key] = downPrev{d.PLIs, d.NACKs, d.Resent}
			recs = append(recs, qoe.DownSample{Node: q.n.cfg.Name, Room: qs.info.Room, Participant: qs.info.Participant,
				Publisher: d.Publisher, Track: d.Track, Kind: d.Kind, Start: start, End: end, Layer: d.Layer,
				PLIs: int(delta(d.PLIs, prev.plis)), NACKs: int(delta(d.NACKs, prev.nacks)), Resent: int(delta(d.Resent, prev.resent)),
				EstimateBps: float64(est), Loss: max(d.Loss, 0), AckLagMs: d.AckLagMs, RTTMs: float64(d.RTTMs)})
		}
		for _, r := range p.Tracks() {
			snap := r.Snapshot()
			var packets uint64
			var bitrate float64
			layers := 0
			for _, l := range snap.Layers {
				packets += l.Packets
				if l.Arriving {
					layers++
					bitrate += float64(l.Bitrate)
				}
			}
			key := qs.info.ID + "/" + snap.ID
			prev, had := q.samp.ups[key]
			ups[key] = packets
			gap := q.samp.gaps[key]
			delete(q.samp.gaps, key)
			if !had || snap.Muted {
				continue
			}
			recs = append(recs, qoe.UpSample{Node: q.n.cfg.Name, Room: qs.info.Room, Participant: qs.info.Participant,
				Track: snap.ID, Kind: snap.Kind, Start: start, End: end, BitrateBps: bitrate, Layers: layers,
				Packets: int(delta(packets, prev)), Loss: r.RecentLoss(), MaxGapMs: gap})
		}
	}
	q.samp.downs, q.samp.ups = downs, ups
	return recs
}

// slaObservations are the node's SLA figures for the alerts: stall
// compliance over the last minutes, join time over the last joins.
func (q *qualityPlane) slaObservations(now int64) []observation {
	var obs []observation
	if c, minutes := q.m.compliance(now); minutes >= 10 {
		obs = append(obs, observation{alert.NodeStalls, q.n.cfg.Name, c})
	}
	q.mu.Lock()
	js := make([]float64, 0, len(q.recent.ms))
	for _, j := range q.recent.ms {
		js = append(js, float64(j))
	}
	q.mu.Unlock()
	if len(js) >= 5 {
		obs = append(obs, observation{alert.NodeJoin, q.n.cfg.Name, sla.Percentile(js, 0.95)})
	}
	return obs
}

// raise logs, counts and records an alert transition.
func (q *qualityPlane) raise(a qoe.Alert) {
	if a.State == "firing" {
		q.log.Warn("quality alert", "kind", a.Kind, "subject", a.Subject, "value", a.Value, "threshold", a.Threshold, "msg", a.Message)
		q.m.alerts.WithLabelValues(a.Kind).Inc()
	} else {
		q.log.Info("quality alert resolved", "kind", a.Kind, "subject", a.Subject, "msg", a.Message)
	}
	q.add(a)
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
