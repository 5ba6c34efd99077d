package scheduler

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// bigCluster is 500 access nodes in 10 regions (50 each, around the
// region's place), every node part full, and 10,000 rooms spread over
// one to three nodes each.
func bigCluster() ([]Node, []map[string]int) {
	rnd := rand.New(rand.NewPCG(1, 2))
	places := []Coord{fra, ash, sin, {35.7, 139.7}, {-23.5, -46.6}, {-33.9, 151.2}, {19.1, 72.9}, {25.2, 55.3}, {37.3, -121.9}, {-26.2, 28.0}}
	var nodes []Node
	for r, p := range places {
		for i := range 50 {
			c := Coord{Lat: p.Lat + rnd.Float64() - 0.5, Lon: p.Lon + rnd.Float64() - 0.5}
			n := mk(fmt.Sprintf("r%d-%d", r, i), fmt.Sprintf("r%d", r), c)
			n.Capacity, n.Users = 1000, rnd.IntN(900)
			n.Heard = t0.Add(time.Hour) // fresh for the whole run
			nodes = append(nodes, n)
		}
	}
	rooms := make([]map[string]int, 10000)
	for i := range rooms {
		rooms[i] = map[string]int{}
		for range 1 + rnd.IntN(3) {
			rooms[i][nodes[rnd.IntN(len(nodes))].Name] += 1 + rnd.IntN(5)
		}
	}
	return nodes, rooms
}

// BenchmarkPlace is one decision with 500 nodes and 10,000 rooms: the
// view copied as the node builds it per request, the room's placement
// looked up, three probes, history for every node, and scoring.
func BenchmarkPlace(b *testing.B) {
	nodes, rooms := bigCluster()
	hist := fakeHistory{"region:r0": {}}
	for i, n := range nodes {
		hist["region:r0"][n.Name] = Quality{Calls: 20 + i%50, StallRate: float64(i%7) / 20, LatencyMs: 30}
	}
	for _, tc := range []struct {
		name string
		h    History
		rtts map[string]float64
	}{
		{"hint", nil, nil},
		{"probes+history", hist, map[string]float64{"r0-3": 12, "r1-7": 95, "r2-9": 170}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := New(Config{}, Options{History: tc.h})
			addr := netip.MustParseAddr("192.0.2.9")
			view := make([]Node, len(nodes))
			b.ReportAllocs()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				copy(view, nodes)
				req := Request{Room: fmt.Sprint("room-", i%len(rooms)), Identity: fmt.Sprint("u", i), Addr: addr, Hint: "r0", RTTs: tc.rtts}
				if _, err := s.Place(t0.Add(time.Duration(i)*time.Millisecond), req, View{Self: "r0-0", Nodes: view, Room: rooms[i%len(rooms)]}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			// CPU time (GC included) per decision: on a shared, busy
			// machine wall time mostly measures the neighbours.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i), "cpu-µs/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
