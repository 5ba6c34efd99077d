package node

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/qrtn/qrtn/sfu"
	"github.com/qrtn/qrtn/trunk"
)

// paths tells, for every participant of a room on this node (its own and
// the ones mirrored from other nodes), the way its media takes here: the
// nodes from the participant's access node to this one (one entry when it
// is connected here) and the one-way trunk latency along them, from the
// trunks' measured round-trip times. The SFU sends them to clients with
// the connection quality (SFU.SetPathSource); /api/paths answers them.
func (n *Node) paths(room string) map[string]sfu.Path {
	out := map[string]sfu.Path{}
	if n.sfu == nil {
		return out
	}
	rm := n.sfu.Room(room)
	if rm == nil {
		return out
	}
	var st trunk.Status
	if n.trunk != nil {
		st = n.trunk.Status()
	}
	for _, p := range rm.Participants() {
		pi := sfu.Path{Node: n.cfg.Name, Nodes: []string{n.cfg.Name}}
		for _, t := range p.Tracks() {
			for _, f := range st.Flows {
				if f.Room == room && f.Track == t.ID() && len(f.Path) > len(pi.Nodes) {
					pi.Node, pi.Nodes = f.Origin, slices.Clone(f.Path)
				}
			}
		}
		pi.Hops = len(pi.Nodes) - 1
		pi.LatencyMs = pathLatency(st.Links, pi.Nodes)
		out[p.ID()] = pi
	}
	return out
}

// handlePaths answers GET /api/paths?room=R with paths(R).
func (n *Node) handlePaths(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(struct {
		Node  string              `json:"node"`
		Paths map[string]sfu.Path `json:"paths"`
	}{n.cfg.Name, n.paths(r.URL.Query().Get("room"))})
}

// pathLatency sums half the round-trip time of each hop of path.
func pathLatency(links []trunk.LinkStatus, path []string) float64 {
	total := 0.0
	for i := 1; i < len(path); i++ {
		for _, l := range links {
			if l.From == path[i-1] && l.To == path[i] {
				total += l.RTTMs / 2
				break
			}
		}
	}
	return total
}
