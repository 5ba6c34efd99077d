package netsim

import (
	"errors"
	"net/netip"
	"time"
)

// Epoch is where every simulation's clock starts: 2026-01-01T00:00:00Z, a
// plausible wall-clock instant so that handshake timestamps behave.
func Epoch() time.Time { return time.Unix(epochUnix, 0).UTC() }

const epochUnix = 1767225600 // 2026-01-01T00:00:00Z

// Errors callers may branch on.
var (
	ErrAddrInUse = errors.New("netsim: address already has a node")
	ErrNoNode    = errors.New("netsim: no node at address")
)

// maxPollsPerInstant bounds how often one node is polled at a single virtual
// instant because its NextTimeout keeps saying "now". A correct node never
// gets near it; a node that does would otherwise freeze virtual time.
const maxPollsPerInstant = 1 << 16

// Config sets up a simulation.
type Config struct {
	// Seed derives every link's random source.
	Seed uint64
	// DefaultLink configures a direction that was not set with SetLink
	// when the first packet crosses it. The zero value is an ideal link.
	DefaultLink LinkConfig
	// OnTransmit, if set, sees every datagram offered to a link and what
	// the link did with it: a tap for tests that count bytes on the wire.
	OnTransmit func(now time.Time, from, to netip.AddrPort, size int, fate Fate)
	// BatchArrivals hands a node every datagram that arrives at the same
	// instant (consecutive in the queue) before polling it once, as a real
	// driver drains its socket before it polls. Without it the node is
	// polled after each datagram.
	BatchArrivals bool
}

// Stats counts what the simulator did as a whole.
type Stats struct {
	Events        uint64 // events dispatched
	Datagrams     uint64 // datagrams handed to a node
	Undeliverable uint64 // arrived where no node is attached, or it was down
	Polls         uint64 // calls to Node.Poll
	Spins         uint64 // times a node hit maxPollsPerInstant
}

// Sim is a seeded, single-threaded, virtual-time network. Nodes, links and
// callbacks run on the goroutine that calls Run*; nothing here is safe for
// concurrent use, which is what makes runs reproducible.
type Sim struct {
	cfg   Config
	epoch time.Time
	now   time.Duration // since Epoch
	nowT  time.Time     // Epoch.Add(now), cached
	q     eventQueue
	seq   uint64
	stats Stats

	nodes     map[netip.AddrPort]*nodeState
	order     []*nodeState // attach order, for deterministic sweeps
	links     map[linkKey]*Link
	linkEpoch uint64 // bumped when links are added or re-keyed

	freeEvents []*event
	freeBufs   []*packetBuf
	running    bool
}

// New returns an empty simulation at Epoch.
func New(cfg Config) *Sim {
	return &Sim{
		cfg:   cfg,
		epoch: Epoch(),
		nowT:  Epoch(),
		nodes: make(map[netip.AddrPort]*nodeState),
		links: make(map[linkKey]*Link),
	}
}

// Now is the current virtual time.
func (s *Sim) Now() time.Time { return s.nowT }

// Elapsed is the virtual time since Epoch.
func (s *Sim) Elapsed() time.Duration { return s.now }

// Stats returns the simulator's counters.
func (s *Sim) Stats() Stats { return s.stats }

func (s *Sim) setNow(d time.Duration) {
	if d != s.now {
		s.now = d
		s.nowT = s.epoch.Add(d)
	}
}

func (s *Sim) toVirtual(t time.Time) time.Duration {
	d := t.Sub(s.epoch)
	if d < s.now {
		d = s.now
	}
	return d
}

// At runs fn at virtual time t (or now, if t is in the past). fn acts as an
// application: it may call into nodes; afterwards every node's NextTimeout
// is read again.
func (s *Sim) At(t time.Time, fn func()) {
	e := s.newEvent(s.toVirtual(t), evCallback)
	e.fn = fn
	s.q.push(e)
}

// After runs fn d after now.
func (s *Sim) After(d time.Duration, fn func()) { s.At(s.nowT.Add(d), fn) }

// Every runs fn every interval, first at now+interval, until stop is called.
func (s *Sim) Every(interval time.Duration, fn func()) (stop func()) {
	if interval <= 0 {
		panic("netsim: Every needs a positive interval")
	}
	stopped := false
	var tick func()
	tick = func() {
		if stopped {
			return
		}
		fn()
		if !stopped {
			s.After(interval, tick)
		}
	}
	s.After(interval, tick)
	return func() { stopped = true }
}

// RunUntil dispatches every event due at or before t, then sets the clock
// to t (if it is later than now).
func (s *Sim) RunUntil(t time.Time) {
	s.enter()
	defer s.leave()
	limit := t.Sub(s.epoch)
	for s.q.len() > 0 && s.q.peek().at <= limit {
		s.step()
	}
	if limit > s.now {
		s.setNow(limit)
	}
}

// RunFor runs for d of virtual time.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(s.nowT.Add(d)) }

// RunWhile dispatches events while cond holds, checking it before each one,
// but not past limit. It reports whether cond became false; when limit is
// reached first the clock is left at limit and it returns false.
func (s *Sim) RunWhile(cond func() bool, limit time.Time) bool {
	s.enter()
	defer s.leave()
	lim := limit.Sub(s.epoch)
	for cond() {
		if s.q.len() == 0 || s.q.peek().at > lim {
			if lim > s.now {
				s.setNow(lim)
			}
			return false
		}
		s.step()
	}
	return true
}

func (s *Sim) enter() {
	if s.running {
		panic("netsim: Run* called from inside the simulation")
	}
	s.running = true
}

func (s *Sim) leave() { s.running = false }

// pop takes the next event out of the queue; a datagram's successor on
// its link takes its place in the heap.
func (s *Sim) pop() *event {
	e := s.q.pop()
	if l := e.link; l != nil {
		if n := l.inflight.next(); n != nil {
			s.q.push(n)
		}
	}
	return e
}

// pushArrival queues a datagram's arrival: behind the link's last one
// when it comes no earlier (the usual case: the heap is not touched),
// else (a link that reorders) in the heap on its own.
func (s *Sim) pushArrival(l *Link, e *event) {
	switch {
	case l.inflight.empty():
		e.link = l
		l.inflight.add(e)
		s.q.push(e)
	case !less(e, l.inflight.last()):
		e.link = l
		l.inflight.add(e)
	default:
		s.q.push(e)
	}
}

func (s *Sim) step() {
	e := s.pop()
	s.setNow(e.at)
	s.stats.Events++
	switch e.kind {
	case evDeliver:
		s.deliver(e)
	case evTimer:
		ns := e.node
		ns.timerEv = nil
		if ns.attached && ns.up && ns.timerArmed {
			ns.timerArmed = false
			s.poll(ns)
		}
	case evCallback:
		e.fn()
		s.rearmAll()
	}
	s.freeEvent(e)
}

func (s *Sim) deliver(e *event) {
	ns := s.nodes[e.to]
	if ns == nil || !ns.up {
		s.stats.Undeliverable++
		return
	}
	s.stats.Datagrams++
	ns.node.HandleDatagram(s.nowT, e.from, e.buf.b)
	for s.cfg.BatchArrivals && s.q.len() > 0 {
		n := s.q.peek()
		if n.kind != evDeliver || n.at != e.at || n.to != e.to {
			break
		}
		s.pop()
		s.stats.Events++
		s.stats.Datagrams++
		ns.node.HandleDatagram(s.nowT, n.from, n.buf.b)
		s.freeEvent(n)
	}
	s.poll(ns)
}

// poll lets a node send, then arms its timer.
func (s *Sim) poll(ns *nodeState) {
	if ns.lastPoll == s.now {
		ns.pollsNow++
	} else {
		ns.lastPoll, ns.pollsNow = s.now, 1
	}
	s.stats.Polls++
	ns.node.Poll(s.nowT, ns.send)
	s.rearm(ns)
}

// rearm reads the node's NextTimeout and schedules a timer event if it
// changed. Superseded timer events stay queued and are skipped by gen.
func (s *Sim) rearm(ns *nodeState) {
	if !ns.up || !ns.attached {
		return
	}
	nt := ns.node.NextTimeout()
	if nt.IsZero() {
		if ns.timerArmed {
			s.disarm(ns)
		}
		return
	}
	at := s.toVirtual(nt)
	if at == s.now && ns.pollsNow >= maxPollsPerInstant {
		s.stats.Spins++
		at = s.now + time.Microsecond
	}
	if ns.timerArmed && ns.timerAt == at {
		return
	}
	s.arm(ns, at)
}

// arm sets the node's one timer to at, replacing the one armed before.
func (s *Sim) arm(ns *nodeState, at time.Duration) {
	s.disarm(ns)
	ns.timerArmed, ns.timerAt = true, at
	e := s.newEvent(at, evTimer)
	e.node = ns
	ns.timerEv = e
	s.q.push(e)
}

// disarm cancels the node's timer.
func (s *Sim) disarm(ns *nodeState) {
	ns.timerArmed = false
	if e := ns.timerEv; e != nil {
		ns.timerEv = nil
		s.q.remove(e)
		s.freeEvent(e)
	}
}

func (s *Sim) rearmAll() {
	for _, ns := range s.order {
		s.rearm(ns)
	}
}

// transmit puts a datagram on the link from → to.
func (s *Sim) transmit(from, to netip.AddrPort, ns *nodeState, b []byte) {
	var l *Link
	if ns != nil && ns.cacheEpoch == s.linkEpoch && ns.cacheTo == to && ns.cacheLink != nil {
		l = ns.cacheLink
	} else {
		l = s.linkOrDefault(from, to)
		if ns != nil {
			ns.cacheEpoch, ns.cacheTo, ns.cacheLink = s.linkEpoch, to, l
		}
	}
	arrival, fate := l.Enqueue(s.nowT, len(b))
	if s.cfg.OnTransmit != nil {
		s.cfg.OnTransmit(s.nowT, from, to, len(b), fate)
	}
	if fate != Delivered {
		return
	}
	e := s.newEvent(s.toVirtual(arrival), evDeliver)
	e.from, e.to = from, to
	e.buf = s.getBuf(b)
	s.pushArrival(l, e)
}

// Send injects a datagram from an address that need not have a node, as
// if something there had sent it now. It crosses the link from → to.
func (s *Sim) Send(from, to netip.AddrPort, b []byte) {
	s.transmit(from, to, nil, b)
}

func (s *Sim) newEvent(at time.Duration, kind eventKind) *event {
	var e *event
	if n := len(s.freeEvents); n > 0 {
		e = s.freeEvents[n-1]
		s.freeEvents = s.freeEvents[:n-1]
	} else {
		e = new(event)
	}
	s.seq++
	e.at, e.seq, e.kind, e.idx = at, s.seq, kind, -1
	return e
}

func (s *Sim) freeEvent(e *event) {
	if e.buf != nil {
		s.freeBufs = append(s.freeBufs, e.buf)
	}
	*e = event{}
	s.freeEvents = append(s.freeEvents, e)
}

// getBuf copies b into a pooled buffer.
func (s *Sim) getBuf(b []byte) *packetBuf {
	var p *packetBuf
	if n := len(s.freeBufs); n > 0 {
		p = s.freeBufs[n-1]
		s.freeBufs = s.freeBufs[:n-1]
	} else {
		p = new(packetBuf)
	}
	if cap(p.b) < len(b) {
		p.b = make([]byte, len(b), max(len(b), 2048))
	}
	p.b = p.b[:len(b)]
	copy(p.b, b)
	return p
}
