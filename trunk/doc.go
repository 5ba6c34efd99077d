// Package trunk cascades qrtn nodes through QRTP trunks: node identity and
// topology from configuration, one QRTP connection per pair of configured
// peers, the room cascade protocol on a reliable control stream
// (PROTOCOL.md), link-state flooding, route planning (package route), and
// the relay of RTP packets over deadline-message streams.
//
// It is where the SFU and QRTP meet, and the only package that knows both.
// It must not know browsers, signaling or HTTP beyond serving its own JSON
// status; the SFU it is given knows nothing of it except the Upstream and
// Sink seams.
//
// # Shape
//
// The decisions live in Core, a sans-IO state machine in the shape of
// qrtp.Endpoint (HandleDatagram, Poll, NextTimeout) that owns the node's
// QRTP endpoint and every trunk, the flooded link-state and room
// databases, the planner and the forwarding table, and relays media. It
// reads no clock and starts no goroutine, so the simulator (trunk/sim)
// runs whole networks of Cores in virtual time, and the tests of the
// protocol run there without sleeps. Its seams:
//
//   - peer (peer.go): one trunk's QRTP connection and control stream;
//     trunks.go is a trunk's life (dial, accept, up, down, re-dial);
//   - control.go: the control protocol, flooding of lsdb.go and roomdb.go;
//   - route: the planner, pure;
//   - flowTable (flow.go): the forwarding table, pure: every change of a
//     flow's upstream goes through one function; sync.go keeps it in line
//     with demand and routes; flood_order.go describes a flow (room mode,
//     track kind) from the room record or, until it comes, the sub;
//   - media.go: the relay of RTP packets; temporal.go: the temporal
//     layers of VP9 and AV1 each downstream peer wants, the only ones
//     sent to it (sfu.TemporalCut knows the codecs);
//   - failover.go and standby.go: a silent trunk that fed media is left
//     within 300 ms, and audio may take two routes at once;
//   - Local (local.go): the node's media side, the SFU on an access node.
//
// Trunk (trunk.go) is the real-time driver: one UDP socket, a reader
// goroutine, and one goroutine (the loop) that owns the Core and the SFU
// glue (access.go). Into the local SFU packets go through one goroutine
// per mirrored track (feed.go), because the SFU's fan-out to local
// subscribers costs far more than relaying and would hold up every trunk's
// datagrams and timers. SFU callbacks (sinks, Upstream calls, room events)
// never block: they queue work for the loop. docs/packet-path.md follows
// one packet through all of it.
//
// # Who dials
//
// Of two configured peers, the one with the lexically smaller name dials
// and the other only accepts, so there is never more than one trunk per
// pair. The dialer knows the acceptor's static key, so its first datagram
// already carries the control stream's hello (QRTP 0-RTT). An accepted
// connection is kept only if its key is configured and its name is the
// smaller one; a newer connection from the same peer replaces an older one
// (the peer restarted). A lost trunk is re-dialled with exponential
// back-off and jitter.
//
// # Forwarding
//
// Every node that needs a track layer (an access node with local
// subscribers, or any node with downstream subscribers) plans the route
// from the track's origin to itself and subscribes to the route's
// previous hop, which does the same. Each node keeps one upstream per
// track layer, so a trunk link carries one copy whatever the number of
// subscribers behind it: live trees fall out of hop-by-hop subscription.
// Route changes are make-before-break; a lost trunk re-plans at once.
package trunk
