// Package scheduler picks the access node a user joins: a join request
// (room, identity, client address, an optional region hint, RTTs the client
// measured) and a cluster view (every node's region, coordinates, state and
// load, and where the room already is) go in; a ranked list of access nodes
// comes out, each with a score breakdown and the reasons behind the first.
//
// It is pure logic with time passed in. It reads no clock, no socket and no
// database: the node's driver (package node, behind GET /api/join) builds
// the view from its own flooded link state, so every node answers on its
// own and there is no single scheduler to fail. The one IO it does is
// opening an operator's GeoIP database at start (geoip.go).
//
// # Scoring
//
// Every candidate gets a cost in milliseconds of round-trip time, lower is
// better (score.go):
//
//   - the RTT to the node: measured by the client when its probes tell the
//     regions apart, else estimated from where the user is (locate.go):
//     GeoIP coordinates → great-circle distance, a configured network →
//     region table, or the hint; with no evidence, the region of the node
//     that answered;
//   - room affinity: a node that already has the room in the user's region
//     earns a bonus; a node that does not, when the room is elsewhere,
//     pays for the trunk copies it would add;
//   - load: users over capacity; a full, draining, down or unlinked node is
//     never a candidate;
//   - history (history.go): stalls, failed joins and excess latency that
//     users from the same /24 or /48 network (or region) saw on the node,
//     weighted by how many calls they rest on; neutral without history.
//
// Bursts are spread (recent.go): the joins this scheduler assigned in the
// last seconds count as load before the node announces them, and among the
// candidates within NearMs of the best, two are drawn by a hash of the
// user and the less loaded wins (the power of two choices), so schedulers
// on different nodes with the same stale view do not herd onto the node
// that looked emptiest a second ago, while one user asking twice gets the
// same answer.
//
// It must not know HTTP, the trunk protocol, the SFU or how history is
// stored: History is a small interface the QoE store implements.
package scheduler
