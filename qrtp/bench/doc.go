// Package bench runs QRTP's congestion-control benchmarks: seeded netsim
// scenarios in virtual time (bulk utilization against random loss before
// or after the bottleneck, a 25 fps media stream, queueing delay, the cost
// of a ProbeRTT, fairness between two flows, coexistence with CUBIC) over
// the real QRTP core, and it writes the figures as a markdown table, JSON
// and SVG charts. `qrtn bench` is its command-line front.
//
// It drives qrtp.Endpoint and reads ConnStats like any application would;
// it must not know the internals of the controllers it compares (it names
// them, and reads their Stats through the connection). Every scenario owns
// its own simulation, so scenarios run in parallel and each one's figures
// depend only on its seed.
package bench
