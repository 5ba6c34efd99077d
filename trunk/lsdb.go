package trunk

import (
	"sort"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// lsdb is the link-state database: the latest LinkState of every node,
// flooded hop by hop. A record that is not refreshed within maxAge belongs
// to a node that failed or is cut off, and is dropped.
type lsdb struct {
	maxAge  time.Duration
	entries map[string]*lsEntry
}

type lsEntry struct {
	ls LinkState
	at time.Time // when this node last received a newer sequence number
}

// maxNodes bounds the link-state database.
const maxNodes = 1024

func newLSDB(maxAge time.Duration) *lsdb {
	return &lsdb{maxAge: maxAge, entries: map[string]*lsEntry{}}
}

// update stores ls if it is newer than what we hold, and reports whether it
// was (and so must be flooded on).
func (d *lsdb) update(now time.Time, ls LinkState) bool {
	e, ok := d.entries[ls.Origin]
	if ok && ls.Seq <= e.ls.Seq {
		return false
	}
	if !ok && len(d.entries) >= maxNodes {
		return false // a network this large is a misbehaving peer's invention
	}
	d.entries[ls.Origin] = &lsEntry{ls: ls, at: now}
	return true
}

// expire drops records older than maxAge, except those of origins alive
// says are known to live (this node and neighbours on up trunks: a lossy
// trunk may delay their records, but QRTP's keep-alive vouches for them),
// and returns the origins dropped.
func (d *lsdb) expire(now time.Time, alive func(string) bool) []string {
	var gone []string
	for o, e := range d.entries {
		if !alive(o) && now.Sub(e.at) > d.maxAge {
			delete(d.entries, o)
			gone = append(gone, o)
		}
	}
	sort.Strings(gone)
	return gone
}

func (d *lsdb) get(origin string) (LinkState, bool) {
	e, ok := d.entries[origin]
	if !ok {
		return LinkState{}, false
	}
	return e.ls, true
}

// all returns every record, sorted by origin.
func (d *lsdb) all() []LinkState {
	out := make([]LinkState, 0, len(d.entries))
	for _, e := range d.entries {
		out = append(out, e.ls)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

// graph is the route planner's snapshot of the network. A trunk counts in
// a direction only while its sender reports it up; a link to a node whose
// record expired is dropped by route.NewGraph.
//
// A trunk is usable only while both ends report it up: when a trunk breaks,
// the end that noticed floods first, and its word is enough (the other
// end's stale record, or a dead node's last record, still says up).
func (d *lsdb) graph(costs route.Costs) *route.Graph {
	var nodes []route.Node
	var links []route.Link
	all := d.all()
	reportedDown := map[[2]string]bool{}
	for _, ls := range all {
		for _, l := range ls.Links {
			if !l.Up {
				reportedDown[[2]string{ls.Origin, l.Peer}] = true
			}
		}
	}
	for _, ls := range all {
		nodes = append(nodes, route.Node{Name: ls.Origin, Role: route.Role(ls.Role), Load: ls.Load})
		for _, l := range ls.Links {
			down := !l.Up || reportedDown[[2]string{l.Peer, ls.Origin}]
			links = append(links, route.Link{From: ls.Origin, To: l.Peer, Down: down,
				RTT: time.Duration(l.RTTMicros) * time.Microsecond, Loss: l.Loss, Bandwidth: l.Bandwidth})
		}
	}
	return route.NewGraph(nodes, links, costs)
}
