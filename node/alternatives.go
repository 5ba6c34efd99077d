package node

import (
	"sort"
	"time"

	"github.com/qrtn/qrtn/scheduler"
	"github.com/qrtn/qrtn/signaling"
)

// alternativesEvery is how often the list of access nodes a client may
// move to is refreshed from the link state.
const alternativesEvery = 2 * time.Second

// alternatives lists the other access nodes clients may move to when this
// one is gone, best first: the same region first, then the least loaded.
// It is the clients' fallback that needs no round trip (qrtn-reconnect.js);
// nodes that are draining, or whose trunks are all down, are left out.
func (n *Node) alternatives() []signaling.Alternative {
	if n.trunk == nil {
		return nil
	}
	type cand struct {
		alt  signaling.Alternative
		load float64
	}
	var cs []cand
	for _, x := range n.trunk.Nodes() {
		if x.Self || x.Role != "access" || x.HTTP == "" || x.Draining || !x.Linked {
			continue
		}
		load := float64(x.Users)
		if x.UserCap > 0 {
			load /= float64(x.UserCap)
		}
		cs = append(cs, cand{signaling.Alternative{Node: x.Name, Region: x.Region, URL: x.HTTP}, load})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		si, sj := cs[i].alt.Region == n.cfg.Region, cs[j].alt.Region == n.cfg.Region
		if si != sj {
			return si
		}
		if cs[i].load != cs[j].load {
			return cs[i].load < cs[j].load
		}
		return cs[i].alt.Node < cs[j].alt.Node
	})
	out := make([]signaling.Alternative, len(cs))
	for i, c := range cs {
		out[i] = c.alt
	}
	return out
}

// refreshAlternatives keeps the signaling server's list current until the
// node closes.
func (n *Node) refreshAlternatives() {
	t := time.NewTicker(alternativesEvery)
	defer t.Stop()
	for {
		n.sig.SetAlternatives(n.alternatives())
		select {
		case <-n.done:
			return
		case <-t.C:
		}
	}
}

// migrationTarget is where a draining node sends one of its clients: the
// scheduler's choice for the client's room from this node's region (room
// affinity, load, QoE history), else the first alternative.
func (n *Node) migrationTarget(room, identity string) (signaling.Alternative, bool) {
	now := time.Now()
	view, _ := n.join.view(now, room)
	d, err := n.join.sched.Place(now, scheduler.Request{Room: room, Identity: identity, Hint: n.cfg.Region}, view)
	if err == nil {
		if c := d.Chosen(); c.Node != n.cfg.Name && c.URL != "" {
			return signaling.Alternative{Node: c.Node, Region: c.Region, URL: c.URL}, true
		}
	}
	if alts := n.alternatives(); len(alts) > 0 {
		return alts[0], true
	}
	return signaling.Alternative{}, false
}
