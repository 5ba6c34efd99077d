package netsim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"
)

// nodeState is the simulator's record of one attached node.
type nodeState struct {
	node     Node
	addr     netip.AddrPort
	up       bool
	attached bool

	// timer: at most one timer event, timerEv while it is queued.
	timerArmed bool
	timerAt    time.Duration
	timerEv    *event
	lastPoll   time.Duration
	pollsNow   int

	// send is bound once so Poll does not allocate a closure per call.
	send func(to netip.AddrPort, b []byte)

	// one-entry link cache: most nodes talk to one peer.
	cacheEpoch uint64
	cacheTo    netip.AddrPort
	cacheLink  *Link
}

// linkKey names one direction between two addresses.
type linkKey struct{ from, to netip.AddrPort }

// Path is the pair of links between two addresses.
type Path struct {
	Forward *Link // a → b
	Reverse *Link // b → a
}

// Attach puts n at addr, up, and polls it at the current time so that an
// initiator can start sending.
func (s *Sim) Attach(addr netip.AddrPort, n Node) error {
	if _, ok := s.nodes[addr]; ok {
		return fmt.Errorf("attach %v: %w", addr, ErrAddrInUse)
	}
	ns := &nodeState{node: n, addr: addr, up: true, attached: true, lastPoll: -1}
	ns.send = func(to netip.AddrPort, b []byte) {
		if ns.attached && ns.up {
			s.transmit(ns.addr, to, ns, b)
		}
	}
	s.nodes[addr] = ns
	s.order = append(s.order, ns)
	s.wake(ns)
	return nil
}

// Detach removes the node at addr; datagrams still in flight to it become
// undeliverable.
func (s *Sim) Detach(addr netip.AddrPort) error {
	ns, err := s.lookup(addr)
	if err != nil {
		return err
	}
	ns.attached = false
	s.disarm(ns)
	delete(s.nodes, addr)
	for i, o := range s.order {
		if o == ns {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return nil
}

// Down takes the node at addr down: it is neither polled nor handed
// datagrams (those arriving are undeliverable) until Up.
func (s *Sim) Down(addr netip.AddrPort) error {
	ns, err := s.lookup(addr)
	if err != nil {
		return err
	}
	ns.up = false
	s.disarm(ns)
	return nil
}

// Up brings the node at addr back and polls it now.
func (s *Sim) Up(addr netip.AddrPort) error {
	ns, err := s.lookup(addr)
	if err != nil {
		return err
	}
	if !ns.up {
		ns.up = true
		s.wake(ns)
	}
	return nil
}

// Wake polls the node at addr now (after the events already due now). Use
// it after handing a node work outside a callback, or to force a Poll.
func (s *Sim) Wake(addr netip.AddrPort) error {
	ns, err := s.lookup(addr)
	if err != nil {
		return err
	}
	s.wake(ns)
	return nil
}

func (s *Sim) wake(ns *nodeState) { s.arm(ns, s.now) }

// Rebind moves the node at old to addr, as a NAT rebinding or a client
// migration does. The links from and to old now serve addr (the physical
// path is unchanged; only the address is new), replacing any configured for
// addr. Datagrams in flight to old become undeliverable.
func (s *Sim) Rebind(old, addr netip.AddrPort) error {
	ns, err := s.lookup(old)
	if err != nil {
		return err
	}
	if _, busy := s.nodes[addr]; busy {
		return fmt.Errorf("rebind %v to %v: %w", old, addr, ErrAddrInUse)
	}
	delete(s.nodes, old)
	ns.addr = addr
	s.nodes[addr] = ns
	moved := make(map[linkKey]*Link)
	for k, l := range s.links {
		nk := k
		if k.from == old {
			nk.from = addr
		}
		if k.to == old {
			nk.to = addr
		}
		if nk != k {
			delete(s.links, k)
			moved[nk] = l
		}
	}
	for k, l := range moved {
		s.links[k] = l
	}
	s.linkEpoch++
	return nil
}

// Addr reports whether a node is attached at addr and whether it is up.
func (s *Sim) Addr(addr netip.AddrPort) (attached, up bool) {
	ns := s.nodes[addr]
	return ns != nil, ns != nil && ns.up
}

func (s *Sim) lookup(addr netip.AddrPort) (*nodeState, error) {
	ns := s.nodes[addr]
	if ns == nil {
		return nil, fmt.Errorf("%v: %w", addr, ErrNoNode)
	}
	return ns, nil
}

// SetLink configures the direction from → to, creating it if needed. On an
// existing link the change applies from the next packet (see
// Link.SetConfig), so tests can degrade or restore a path mid-run.
func (s *Sim) SetLink(from, to netip.AddrPort, cfg LinkConfig) *Link {
	k := linkKey{from, to}
	if l := s.links[k]; l != nil {
		l.SetConfig(cfg)
		return l
	}
	l := NewLink(cfg, s.linkSeed(k))
	s.links[k] = l
	s.linkEpoch++
	return l
}

// SetPath configures both directions between a and b.
func (s *Sim) SetPath(a, b netip.AddrPort, ab, ba LinkConfig) Path {
	return Path{Forward: s.SetLink(a, b, ab), Reverse: s.SetLink(b, a, ba)}
}

// Link returns the direction from → to, or nil if no packet has crossed it
// and it was never configured.
func (s *Sim) Link(from, to netip.AddrPort) *Link { return s.links[linkKey{from, to}] }

func (s *Sim) linkOrDefault(from, to netip.AddrPort) *Link {
	if l := s.links[linkKey{from, to}]; l != nil {
		return l
	}
	return s.SetLink(from, to, s.cfg.DefaultLink)
}

// linkSeed derives a link's seed from the simulation seed and the link's
// addresses, so that it does not depend on the order links are created in.
func (s *Sim) linkSeed(k linkKey) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.cfg.Seed)
	h.Write(b[:])
	for _, a := range [2]netip.AddrPort{k.from, k.to} {
		ip := a.Addr().As16()
		h.Write(ip[:])
		binary.BigEndian.PutUint16(b[:2], a.Port())
		h.Write(b[:2])
	}
	return h.Sum64()
}
