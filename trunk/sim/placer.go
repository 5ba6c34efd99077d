package sim

import (
	"fmt"
	"hash/fnv"
)

// Placer chooses the access node a user joins: the seam where a scheduler
// (the network's /api/join logic) runs inside the simulation, so that
// placement policies can be compared on the same scenario and seed.
type Placer interface {
	// Place returns the node for a user of room who is in region, among
	// the running access nodes view offers. It may return "" when none
	// fits; the user then does not join.
	Place(view ClusterView, room, user, region string) string
}

// ClusterView is what a Placer may look at.
type ClusterView interface {
	// AccessNodes returns the running access nodes of a region (every
	// region when region is ""), by name.
	AccessNodes(region string) []string
	// Users returns how many users a node holds, and how many of them are
	// in room.
	Users(node, room string) (total, inRoom int)
}

// RegionPlacer is the default: a room's users of one region share one
// access node (hashed from the room's name), unless it holds Capacity
// users already; then the region's least loaded node takes them. A region
// without a running access node sends its users to the nearest in name
// order of all regions.
type RegionPlacer struct {
	// Capacity is the most users on one access node (0: no limit).
	Capacity int
}

// Place implements Placer.
func (p RegionPlacer) Place(view ClusterView, room, _, region string) string {
	nodes := view.AccessNodes(region)
	if len(nodes) == 0 {
		nodes = view.AccessNodes("")
	}
	if len(nodes) == 0 {
		return ""
	}
	h := fnv.New32a()
	fmt.Fprint(h, room)
	first := nodes[int(h.Sum32()%uint32(len(nodes)))]
	if total, _ := view.Users(first, room); p.Capacity == 0 || total < p.Capacity {
		return first
	}
	best, bestN := "", 0
	for _, n := range nodes {
		total, _ := view.Users(n, room)
		if (p.Capacity == 0 || total < p.Capacity) && (best == "" || total < bestN) {
			best, bestN = n, total
		}
	}
	return best
}

// AccessNodes implements ClusterView.
func (n *Network) AccessNodes(region string) []string {
	var out []string
	for _, nd := range n.order {
		if nd.up && nd.local != nil && !nd.draining && (region == "" || nd.Spec.Region == region) {
			out = append(out, nd.Spec.Name)
		}
	}
	return out
}

// Users implements ClusterView.
func (n *Network) Users(node, room string) (total, inRoom int) {
	nd := n.nodes[node]
	if nd == nil || nd.local == nil {
		return 0, 0
	}
	if r := nd.local.rooms[room]; r != nil {
		inRoom = len(r.users)
	}
	return nd.local.nusers, inRoom
}
