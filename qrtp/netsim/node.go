// Package netsim is a seeded, virtual-time network for running sans-IO
// protocol cores deterministically: links with a bottleneck rate, a
// tail-drop queue, propagation delay, jitter, and Bernoulli or
// Gilbert-Elliott loss placed before or after the bottleneck.
//
// It knows datagrams, addresses and time. It must not know QRTP: anything
// that implements Node can be attached. The same seed and inputs give the
// same results, event for event.
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
