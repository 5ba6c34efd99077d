//go:build race

package scheduler

// raceEnabled: the race detector slows the simulation tenfold, so the
// test suite's race run places fewer users (the figures come from a
// normal run).
const raceEnabled = true
