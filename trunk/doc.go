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
// A Trunk owns one UDP socket and a sans-IO qrtp.Endpoint, driven by one
// goroutine (the loop), which also owns every trunk, the flooded link-state
// and room databases, the planner and the forwarding table. Running the
// endpoint directly rather than through a blocking per-stream driver keeps
// all cascade state single-threaded: a packet read from a trunk is
// forwarded to the next trunks in the same call, with no queue in between.
// Into the local SFU it goes through one goroutine per mirrored track
// (feed.go), because the SFU's fan-out to local subscribers costs far more
// than relaying and would hold up every trunk's datagrams and timers. SFU
// callbacks (sinks, Upstream calls, room events) never block: they queue
// work for the loop.
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
