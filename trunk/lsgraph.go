package trunk

import (
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// The planner's graph is built once from the link-state database (build)
// and then kept up to date as records change: a record's change touches
// its origin's node and links, and the links to it from the nodes whose
// records list it (their direction counts as down when it reports the
// trunk down, and exists only while it has a record). At 500 nodes a
// record arrives every few milliseconds, and rebuilding the whole graph
// for each was most of what a node did.

// changed brings the live graph in line with origin's new record (none:
// dropped); prev is the record it replaces, if any.
func (d *lsdb) changed(origin string, prev *LinkState) {
	if d.live == nil {
		return
	}
	var cur *LinkState
	if e, ok := d.entries[origin]; ok {
		cur = &e.ls
	}
	wasDown := d.downs[origin]
	d.list(origin, prev, cur)
	if cur == nil {
		d.live.RemoveNode(origin)
	} else {
		d.live.SetNode(route.Node{Name: origin, Role: route.Role(cur.Role), Load: cur.Load})
		d.setLinks(origin)
	}
	// The links to origin: they exist only while it has a record, and
	// count as down while it reports the trunk down.
	isDown := d.downs[origin]
	for o := range d.listedBy[origin] {
		if o != origin && ((prev == nil) != (cur == nil) || wasDown[o] != isDown[o]) {
			d.setLinks(o)
		}
	}
}

// list moves origin in the listedBy index from prev's peers to cur's,
// and notes the trunks cur reports down.
func (d *lsdb) list(origin string, prev, cur *LinkState) {
	delete(d.downs, origin)
	if cur != nil {
		for _, l := range cur.Links {
			if !l.Up {
				if d.downs[origin] == nil {
					d.downs[origin] = map[string]bool{}
				}
				d.downs[origin][l.Peer] = true
			}
		}
	}
	if prev != nil {
		for _, l := range prev.Links {
			if m := d.listedBy[l.Peer]; m != nil {
				delete(m, origin)
				if len(m) == 0 {
					delete(d.listedBy, l.Peer)
				}
			}
		}
	}
	if cur != nil {
		for _, l := range cur.Links {
			m := d.listedBy[l.Peer]
			if m == nil {
				m = map[string]struct{}{}
				d.listedBy[l.Peer] = m
			}
			m[origin] = struct{}{}
		}
	}
}

// setLinks replaces origin's links in the live graph, as build makes them.
func (d *lsdb) setLinks(origin string) {
	e, ok := d.entries[origin]
	if !ok {
		return
	}
	links := make([]route.Link, 0, len(e.ls.Links))
	for _, l := range e.ls.Links {
		down := !l.Up || d.reportsDown(l.Peer, origin)
		links = append(links, route.Link{From: origin, To: l.Peer, Down: down,
			RTT: time.Duration(l.RTTMicros) * time.Microsecond, Loss: l.Loss, Bandwidth: l.Bandwidth})
	}
	d.live.SetLinks(origin, links)
}

// reportsDown reports whether from's record has a trunk to to down.
func (d *lsdb) reportsDown(from, to string) bool { return d.downs[from][to] }
