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
	// gone remembers the last sequence number of forgotten origins, so
	// that a late copy of an old record does not bring one back.
	gone map[string]goneOrigin
	// cut holds since when each origin no path of up trunks reaches;
	// reachV is the version the last sweep saw.
	cut    map[string]time.Time
	reachV uint64
	// version changes with every stored or dropped record; the planner's
	// graph is rebuilt only when it did.
	version uint64
	// live is the planner's graph, kept up to date record by record once
	// built (lsgraph.go); listedBy indexes, per node, the origins whose
	// records list a trunk to it.
	live     *route.Graph
	listedBy map[string]map[string]struct{}
	downs    map[string]map[string]bool // origin → peers it reports down
}

type lsEntry struct {
	ls LinkState
	at time.Time // when this node last received a newer sequence number
}

type goneOrigin struct {
	seq uint64
	at  time.Time
}

// goneMemory is how long a forgotten origin's sequence number is kept:
// long enough for copies in flight and for nodes about to forget it too.
const goneMemory = time.Minute

// maxNodes bounds the link-state database.
const maxNodes = 1024

func newLSDB(maxAge time.Duration) *lsdb {
	return &lsdb{maxAge: maxAge, entries: map[string]*lsEntry{}, gone: map[string]goneOrigin{}, cut: map[string]time.Time{}}
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
	if g, forgotten := d.gone[ls.Origin]; !ok && forgotten {
		if ls.Seq <= g.seq {
			return false
		}
		delete(d.gone, ls.Origin)
	}
	var prev *LinkState
	if ok {
		prev = &e.ls
	}
	d.entries[ls.Origin] = &lsEntry{ls: ls, at: now}
	d.version++
	d.changed(ls.Origin, prev)
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
			d.drop(now, o)
			gone = append(gone, o)
		}
	}
	for o, g := range d.gone {
		if now.Sub(g.at) > goneMemory {
			delete(d.gone, o)
		}
	}
	sort.Strings(gone)
	return gone
}

// drop forgets an origin, remembering its sequence number.
func (d *lsdb) drop(now time.Time, origin string) {
	if e, ok := d.entries[origin]; ok {
		d.gone[origin] = goneOrigin{seq: e.ls.Seq, at: now}
		delete(d.entries, origin)
		delete(d.cut, origin)
		d.version++
		d.changed(origin, &e.ls)
	}
}

// unreachable returns the origins that no path of up trunks (both ends
// reporting up) has reached from self for at least grace.
func (d *lsdb) unreachable(now time.Time, self string, grace time.Duration) []string {
	if d.reachV == d.version && len(d.cut) == 0 {
		return nil // nothing changed, and everything was reachable
	}
	d.reachV = d.version
	up := map[[2]string]bool{}
	for o, e := range d.entries {
		for _, l := range e.ls.Links {
			if l.Up {
				up[[2]string{o, l.Peer}] = true
			}
		}
	}
	seen := map[string]bool{self: true}
	queue := []string{self}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		e := d.entries[n]
		if e == nil {
			continue
		}
		for _, l := range e.ls.Links {
			if l.Up && up[[2]string{l.Peer, n}] && !seen[l.Peer] {
				seen[l.Peer] = true
				queue = append(queue, l.Peer)
			}
		}
	}
	var out []string
	for o := range d.entries {
		if seen[o] {
			delete(d.cut, o)
			continue
		}
		since, ok := d.cut[o]
		if !ok {
			d.cut[o] = now
			continue
		}
		if now.Sub(since) >= grace {
			out = append(out, o)
		}
	}
	sort.Strings(out)
	return out
}

// heard is when an origin was last known alive: now while reachable (as
// of the last unreachable sweep), else the later of its last record and
// the loss of the path to it.
func (d *lsdb) heard(now time.Time, origin string) time.Time {
	e := d.entries[origin]
	if e == nil {
		return time.Time{}
	}
	cut, unreachable := d.cut[origin]
	if !unreachable {
		return now
	}
	if cut.After(e.at) {
		return cut
	}
	return e.at
}

// lastSeq is the sequence number held or remembered for an origin.
func (d *lsdb) lastSeq(origin string) uint64 {
	if e, ok := d.entries[origin]; ok {
		return e.ls.Seq
	}
	return d.gone[origin].seq
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
	if d.live == nil {
		d.live = d.build(costs, nil)
		d.listedBy = map[string]map[string]struct{}{}
		d.downs = map[string]map[string]bool{}
		for o, e := range d.entries {
			d.list(o, nil, &e.ls)
		}
	}
	return d.live
}

// build makes the planner's graph; down lists links to take as down
// besides what the records say.
func (d *lsdb) build(costs route.Costs, down map[[2]string]bool) *route.Graph {
	var nodes []route.Node
	var links []route.Link
	all := d.all()
	reportedDown := map[[2]string]bool{}
	for k := range down {
		reportedDown[k] = true
	}
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
