package sim

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/trunk"
)

// Options tune a run.
type Options struct {
	// Seed derives every random choice: links, keys, jitter, join times.
	Seed uint64
	// Placer places users given by region; nil is RegionPlacer{}.
	Placer Placer
	// Progress, when set, is called after every simulated second with
	// the simulator's counts so far.
	Progress func(simulated time.Duration, engine netsim.Stats)
	// Logger receives the Cores' logs; nil discards them.
	Logger *slog.Logger
	onNet  func(*Network) // tests: the network, once built
}

// agenda holds scheduled actions, run by the media clock in time order
// (one netsim callback per tick rather than one per action keeps a
// scenario with many thousands of users cheap).
type agenda []agendaItem

type agendaItem struct {
	at  time.Duration
	seq int
	fn  func()
}

func (a agenda) Len() int { return len(a) }
func (a agenda) Less(i, j int) bool {
	return a[i].at < a[j].at || (a[i].at == a[j].at && a[i].seq < a[j].seq)
}
func (a agenda) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *agenda) Push(x any)   { *a = append(*a, x.(agendaItem)) }
func (a *agenda) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// Schedule runs fn at the first media tick at or after at (since the
// start of the run).
func (n *Network) Schedule(at time.Duration, fn func()) {
	n.agendaSeq++
	heap.Push(&n.agenda, agendaItem{at: at, seq: n.agendaSeq, fn: fn})
}

func (n *Network) runAgenda() {
	now := n.sim.Elapsed()
	for len(n.agenda) > 0 && n.agenda[0].at <= now {
		it := heap.Pop(&n.agenda).(agendaItem)
		it.fn()
	}
}

// runner plays a scenario on a network.
type runner struct {
	s      *Scenario
	n      *Network
	placer Placer
	rooms  map[string]bool
	errs   []string
	base   map[string]trunk.Counters // counters at the end of the warm-up
	placed *placements
}

// Run plays a scenario and returns what it measured. The same scenario
// and seed give the same Report on any machine.
func Run(ctx context.Context, s *Scenario, opt Options) (*Report, error) {
	cfg := Config{Seed: opt.Seed, Nodes: s.Nodes, Logger: opt.Logger, Tune: s.Trunk.apply}
	for _, l := range s.Links {
		c, err := l.config()
		if err != nil {
			return nil, err
		}
		cfg.Links = append(cfg.Links, LinkSpec{A: l.A, B: l.B, AB: c})
	}
	n, err := New(cfg)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	if opt.onNet != nil {
		opt.onNet(n)
	}
	r := &runner{s: s, n: n, placer: opt.Placer, rooms: map[string]bool{}, placed: newPlacements(n, s)}
	if r.placer == nil {
		r.placer = s.placer(n)
	}
	r.schedule(opt.Seed)
	n.Schedule(s.Warmup, r.endWarmup)
	for n.sim.Elapsed() < s.Duration {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n.RunFor(min(time.Second, s.Duration-n.sim.Elapsed()))
		if opt.Progress != nil {
			opt.Progress(n.sim.Elapsed(), n.sim.Stats())
		}
	}
	n.M.finish(n.sim.Now())
	return r.report(opt.Seed), nil
}

// apply sets the tuning on a node's trunk configuration.
func (t TrunkTuning) apply(c *trunk.Config) {
	set := func(d *time.Duration, v time.Duration) {
		if v > 0 {
			*d = v
		}
	}
	set(&c.KeepAlive, t.KeepAlive)
	set(&c.IdleTimeout, t.IdleTimeout)
	set(&c.LinkStateInterval, t.LinkStateInterval)
	set(&c.LinkStateRefresh, t.LinkStateRefresh)
	set(&c.ReplanInterval, t.ReplanInterval)
	set(&c.RedialMin, t.RedialMin)
	set(&c.RedialMax, t.RedialMax)
	set(&c.RedialRecent, t.RedialRecent)
	if t.FailoverAfter != 0 {
		c.FailoverAfter = t.FailoverAfter
	}
	set(&c.FloodBatch, t.FloodBatch)
	c.ScopedRooms = c.ScopedRooms || t.ScopedRooms
	if t.DualAudio {
		c.Scenarios = map[string]trunk.Scenario{"meeting": {DualAudio: true}, "live": {DualAudio: true}}
	}
}

// schedule puts the scenario's users and events on the agenda.
func (r *runner) schedule(seed uint64) {
	for _, room := range r.s.Rooms {
		r.rooms[room.Name] = true
		for _, u := range room.Users {
			r.joinAt(u.At, room.Name, room.Mode, u)
		}
		if c := room.Crowd; c != nil {
			rnd := rand.New(r.n.rand("crowd", room.Name, int(seed)))
			watch := true
			for k := range c.Viewers {
				u := UserDef{ID: fmt.Sprintf("v%d", k+1), Region: c.Regions[k%len(c.Regions)], Watch: &watch}
				r.joinAt(time.Duration(rnd.Float64()*float64(c.JoinOver)), room.Name, room.Mode, u)
			}
		}
	}
	for _, g := range r.s.Groups {
		r.scheduleGroup(g, seed)
	}
	for _, e := range r.s.Timeline {
		r.n.Schedule(e.At, func() { r.event(e) })
	}
}

func (r *runner) joinAt(at time.Duration, room, mode string, u UserDef) {
	r.n.Schedule(at, func() { r.join(room, mode, u) })
	if u.Leave > 0 {
		r.n.Schedule(u.Leave, func() { r.leave(room, u.ID) })
	}
}

// scheduleGroup generates a group's rooms and users.
func (r *runner) scheduleGroup(g RoomGroup, seed uint64) {
	rnd := rand.New(r.n.rand("group", g.Prefix, int(seed)))
	spread := min(max(g.Spread, 1), len(g.Regions))
	watch := true
	for i := range g.Count {
		room := fmt.Sprintf("%s%04d", g.Prefix, i+1)
		r.rooms[room] = true
		users := g.Publishers + g.Viewers
		for k := range users {
			region := g.Regions[(i+k%spread)%len(g.Regions)]
			u := UserDef{ID: fmt.Sprintf("v%d", k-g.Publishers+1), Region: region, Watch: &watch, Layer: g.Layer}
			if k < g.Publishers {
				u.ID = fmt.Sprintf("p%d", k+1)
				u.Publish = g.Tracks
				w := g.Mode != "live" // live hosts do not watch the audience
				u.Watch = &w
			}
			at := time.Duration(rnd.Float64() * float64(g.JoinOver))
			r.joinAt(at, room, g.Mode, u)
			back := g.RejoinAfter
			if back <= 0 {
				back = 5 * time.Second
			}
			for g.Churn > 0 && k >= g.Publishers {
				at += time.Duration(rnd.ExpFloat64() / g.Churn * float64(time.Second))
				if at >= r.s.Duration {
					break
				}
				r.n.Schedule(at, func() { r.leave(room, u.ID) })
				at += back
				r.n.Schedule(at, func() { r.join(room, g.Mode, u) })
			}
		}
	}
}

// join places a user and joins it; a user that cannot be placed is
// counted, not fatal.
func (r *runner) join(room, mode string, u UserDef) {
	node := u.Node
	if node == "" {
		node = r.placer.Place(r.n, room, u.ID, u.Region)
		r.placed.note(u.Region, node)
	}
	layer := -1
	if u.Layer != nil {
		layer = *u.Layer
	}
	user := User{ID: u.ID, Room: room, Mode: mode, Publish: u.Publish, Watch: u.Watch == nil || *u.Watch, Layer: layer}
	if err := r.n.Join(node, user); err != nil {
		r.n.M.JoinErrors++
	}
}

// leave takes a user off whichever node holds it.
func (r *runner) leave(room, id string) {
	for _, nd := range r.n.order {
		if nd.up && nd.local != nil && nd.local.leave(room, id) {
			return
		}
	}
}

// event runs one timeline event.
func (r *runner) event(e TimelineDef) {
	var err error
	switch {
	case e.Link != nil:
		var c = e.Link.PathDef
		cfg, _ := c.config()
		err = r.n.SetLink(e.Link.A, e.Link.B, cfg)
	case e.Kill != "":
		err = r.n.Kill(e.Kill)
	case e.Stop != "":
		err = r.n.Stop(e.Stop)
	case e.Restart != "":
		err = r.n.Restart(e.Restart)
	case e.Drain != "":
		err = r.drain(e.Drain)
	case e.Join != nil:
		r.join(e.Join.Room, e.Join.Mode, e.Join.UserDef)
	case e.Leave != nil:
		r.leave(e.Leave.Room, e.Leave.ID)
	}
	if err != nil {
		r.errs = append(r.errs, fmt.Sprintf("%v: %v", r.n.sim.Elapsed(), err))
	}
}

// drainTime is how long a drained node keeps running after its users
// moved, so that their new nodes take over their media first.
const drainTime = 2 * time.Second

// drain moves a node's users to other nodes of its region (the placer
// chooses, the draining node excluded), then stops it.
func (r *runner) drain(name string) error {
	nd := r.n.nodes[name]
	if nd == nil || !nd.up || nd.local == nil {
		return fmt.Errorf("drain %s: no running access node", name)
	}
	nd.draining = true
	for _, u := range nd.local.users() {
		nd.local.leave(u.Room, u.ID)
		target := r.placer.Place(r.n, u.Room, u.ID, nd.Spec.Region)
		r.placed.note(nd.Spec.Region, target)
		if target == "" || r.n.Join(target, u) != nil {
			r.n.M.JoinErrors++
		}
	}
	at := r.n.sim.Elapsed() + drainTime
	r.n.Schedule(at, func() { _ = r.n.Stop(name) })
	return nil
}

// endWarmup starts the measurements.
func (r *runner) endWarmup() {
	r.n.M.reset()
	r.base = map[string]trunk.Counters{}
	for _, nd := range r.n.order {
		r.base[nd.Spec.Name] = nd.Counters()
	}
}

// placer is the scenario's placer on a network.
func (s *Scenario) placer(n *Network) Placer {
	if s.Placement.Placer != "scheduler" {
		return RegionPlacer{Capacity: s.Placement.Capacity}
	}
	policy, _ := scheduler.ParsePolicy(s.Placement.Policy)
	return SchedulerPlacer{S: scheduler.New(scheduler.Config{}, scheduler.Options{}), Policy: policy,
		Now: n.Now, Capacity: s.Placement.Capacity, Net: n}
}
