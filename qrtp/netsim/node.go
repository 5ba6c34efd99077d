// Package netsim is a seeded, virtual-time network for running sans-IO
// protocol cores deterministically: links with a bottleneck rate, a
// tail-drop queue, propagation delay, jitter, and Bernoulli or
// Gilbert-Elliott loss placed before or after the bottleneck.
//
// It knows datagrams, addresses and time. It must not know QRTP: anything
// that implements Node can be attached. The same seed and inputs give the
// same results, event for event.
//
// # How a run goes
//
// A Sim holds a virtual clock (starting at Epoch), an event queue ordered by
// time and then by insertion, the nodes attached at addresses and one Link
// per direction between two addresses. When a datagram arrives at a node the
// simulator calls HandleDatagram and then Poll; when the node's NextTimeout
// comes it calls Poll. Everything a node passes to send crosses the Link
// from its current address to the destination: the loss model (if placed
// before the bottleneck), the tail-drop queue and bottleneck rate, the loss
// model (if placed after), then delay and jitter. Tests act as applications
// through At, After and Every callbacks; after each callback every node's
// NextTimeout is read again, and Wake forces a Poll.
//
// # Determinism
//
// Each Link draws from its own PCG source, seeded from the simulation seed
// and the link's two addresses, so adding a link does not disturb the
// others. Ties in time are broken by insertion order. Nothing reads the wall
// clock or the global random source.
//
// # Reuse in real time
//
// Link is sans-IO: Enqueue(now, size) answers when the packet arrives or
// why it does not, so the real-time relay in netsim/udprelay applies the
// very same model to real sockets.
package netsim

import (
	"net/netip"
	"time"
)

// Node is a sans-IO protocol endpoint that the simulator drives.
// qrtp.Endpoint satisfies it; so can a test double.
type Node interface {
	// HandleDatagram hands the node one datagram that arrived at now.
	// b is only valid during the call.
	HandleDatagram(now time.Time, from netip.AddrPort, b []byte)
	// Poll lets the node send whatever it may send at now, by calling send
	// once per datagram. b is only valid during the call to send.
	Poll(now time.Time, send func(to netip.AddrPort, b []byte))
	// NextTimeout is when the node next wants Poll called; the zero Time
	// means no timer is armed.
	NextTimeout() time.Time
}
