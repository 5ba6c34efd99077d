package trunk

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// The graph kept up to date record by record must equal the one built
// from scratch after any sequence of records and drops.
func TestLiveGraphMatchesBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := newLSDB(time.Minute)
	now := time.Unix(0, 0)
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprintf("n%02d", i)
	}
	seq := map[string]uint64{}
	for step := range 600 {
		o := names[rng.IntN(len(names))]
		if step == 50 {
			d.graph(route.Costs{}) // from here on the graph is live
		}
		if rng.IntN(8) == 0 {
			d.drop(now, o)
			delete(d.gone, o)
		} else {
			seq[o]++
			ls := LinkState{Origin: o, Seq: seq[o], Role: []string{"access", "forwarding"}[rng.IntN(2)], Load: float64(rng.IntN(4)) / 4}
			for _, p := range names {
				if p != o && rng.IntN(3) == 0 {
					ls.Links = append(ls.Links, LinkMetric{Peer: p, Up: rng.IntN(4) != 0, RTTMicros: int64(rng.IntN(100_000)), Loss: float64(rng.IntN(10)) / 100})
				}
			}
			d.update(now, ls)
		}
		if step < 50 {
			continue
		}
		want := d.build(route.Costs{}, nil)
		got := d.graph(route.Costs{})
		if !reflect.DeepEqual(got.Nodes(), want.Nodes()) || !reflect.DeepEqual(got.Links(), want.Links()) {
			t.Fatalf("step %d: live graph differs from a fresh build:\n got %v\nwant %v", step, got.Links(), want.Links())
		}
		for _, a := range names[:3] {
			for _, b := range names[3:6] {
				for _, m := range []route.Mode{route.Meeting, route.Live} {
					p1, c1, ok1 := got.Path(m, a, b)
					p2, c2, ok2 := want.Path(m, a, b)
					if !reflect.DeepEqual(p1, p2) || c1 != c2 || ok1 != ok2 {
						t.Fatalf("step %d: path %s→%s differs", step, a, b)
					}
				}
			}
		}
	}
}
