package node

import (
	"sort"
	"strings"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

// alternativesEvery is how often the list of access nodes a client may
// move to is refreshed from the link state.
const alternativesEvery = 2 * time.Second

// alternatives lists the other access nodes clients may move to, best
// first: the same region first, then by load. Nodes are known from the
// flooded link state; a node whose trunks are all down is left out, and so
// is a draining one once the link state says so.
func (n *Node) alternatives() []signaling.Alternative {
	if n.trunk == nil {
		return nil
	}
	st := n.trunk.Status()
	linked := map[string]bool{}
	for _, l := range st.Links {
		if l.Up {
			linked[l.From], linked[l.To] = true, true
		}
	}
	type cand struct {
		alt  signaling.Alternative
		load float64
	}
	var cs []cand
	for _, ns := range st.Nodes {
		if ns.Self || ns.Role != "access" || ns.HTTP == "" || !linked[ns.Name] {
			continue
		}
		cs = append(cs, cand{signaling.Alternative{Node: ns.Name, Region: ns.Region, URL: ns.HTTP}, ns.Load})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		si, sj := cs[i].alt.Region == n.cfg.Region, cs[j].alt.Region == n.cfg.Region
		if si != sj {
			return si
		}
		if cs[i].load != cs[j].load {
			return cs[i].load < cs[j].load
		}
		return strings.Compare(cs[i].alt.Node, cs[j].alt.Node) < 0
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
