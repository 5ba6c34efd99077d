// Package sim runs whole qrtn networks in virtual time: every node's
// trunk.Core over qrtp/netsim, with synthetic clients in place of the SFU
// (publishers that send RTP-like frames, viewers that watch them), a
// timeline of events (a link degrades, a node dies, drains or restarts,
// users join and leave), and measurements of what the network did (frame
// latency end to end and per hop, stalls, trunk bytes per viewer, FEC and
// retransmission overhead, route changes, time to reroute, control
// traffic). `qrtn sim` is its command line; the trunk package's virtual-time
// tests use its Network directly.
//
// It knows the trunk Core's inputs and outputs, netsim, and its own
// synthetic packet format. It must not know pion, WebRTC or sockets: a run
// is deterministic for a scenario and a seed, on any machine.
//
// # Shape
//
//   - Network (network.go) owns the netsim.Sim, one Node per configured
//     node (its Core, its synthetic Local side, its address and keys) and
//     the links between them.
//   - local (local.go) is a node's trunk.Local: the users placed on it, the
//     tracks they publish, the remote tracks its viewers watch.
//   - media.go is the synthetic RTP format and the frame generator;
//     metrics.go follows frames through every node (the Core's Tap) and
//     into every viewer's node (Local.Deliver).
//   - scenario.go reads a scenario file; run.go plays it; report.go writes
//     the markdown report, its SVG plots and the JSON summary.
//
// Users are placed on access nodes by a Placer (placer.go); the default
// keeps a room's users of one region on one node. A scheduler can replace
// it to compare placement policies.
package sim
