package node

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/qrtn/qrtn/trunk"
)

// pathInfo is the way one participant's media takes to this node: the
// nodes from the participant's access node to here (one entry when it is
// connected here) and the one-way trunk latency along them, from the
// trunks' measured round-trip times.
type pathInfo struct {
	Participant string   `json:"participant"`
	Node        string   `json:"node"`
	Path        []string `json:"path"`
	Hops        int      `json:"hops"`
	LatencyMs   float64  `json:"latency_ms"`
}

// handlePaths answers GET /api/paths?room=R: for every participant of the
// room on this node (its own and the ones mirrored from other nodes), the
// path its media takes here. The demo page shows it on remote tiles.
func (n *Node) handlePaths(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	out := struct {
		Node  string     `json:"node"`
		Paths []pathInfo `json:"paths"`
	}{Node: n.cfg.Name, Paths: []pathInfo{}}
	var st trunk.Status
	if n.trunk != nil {
		st = n.trunk.Status()
	}
	if n.sfu != nil {
		if rm := n.sfu.Room(room); rm != nil {
			for _, p := range rm.Participants() {
				pi := pathInfo{Participant: p.ID(), Node: n.cfg.Name, Path: []string{n.cfg.Name}}
				for _, t := range p.Tracks() {
					for _, f := range st.Flows {
						if f.Room == room && f.Track == t.ID() && len(f.Path) > len(pi.Path) {
							pi.Node, pi.Path = f.Origin, slices.Clone(f.Path)
						}
					}
				}
				pi.Hops = len(pi.Path) - 1
				pi.LatencyMs = pathLatency(st.Links, pi.Path)
				out.Paths = append(out.Paths, pi)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
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
