package sim

import (
	"time"

	"github.com/qrtn/qrtn/scheduler"
)

// SchedulerPlacer places users with the network's scheduler (package
// scheduler, the logic behind /api/join), asked as if on the user's
// region's first access node, with the user's region as its hint and the
// view every node floods: regions, load, draining, where the room is. It
// lets `qrtn sim --placer` compare the scheduler's policies with the
// default RegionPlacer on the same scenario and seed.
type SchedulerPlacer struct {
	S      *scheduler.Scheduler
	Policy scheduler.Policy
	// Now is the virtual clock (Network.Now).
	Now func() time.Time
	// Capacity is every access node's announced user capacity (0: none).
	Capacity int
	// Net is the network placed on.
	Net *Network
}

// Place implements Placer.
func (p SchedulerPlacer) Place(view ClusterView, room, user, region string) string {
	now := p.Now()
	vw := scheduler.View{Room: map[string]int{}}
	for _, nd := range p.Net.order {
		n := scheduler.Node{Name: nd.Spec.Name, Region: nd.Spec.Region, Access: nd.local != nil,
			URL: "sim://" + nd.Spec.Name, Draining: nd.draining, Linked: nd.up, Heard: now, Capacity: p.Capacity}
		if !nd.up {
			n.Heard = time.Time{}
		}
		if nd.local != nil && nd.up {
			total, inRoom := view.Users(nd.Spec.Name, room)
			n.Users = total
			if inRoom > 0 {
				vw.Room[nd.Spec.Name] = inRoom
			}
		}
		if vw.Self == "" && nd.local != nil && nd.up && nd.Spec.Region == region {
			vw.Self = nd.Spec.Name
		}
		vw.Nodes = append(vw.Nodes, n)
	}
	d, err := p.S.Place(now, scheduler.Request{Room: room, Identity: user, Hint: region, Policy: p.Policy}, vw)
	if err != nil {
		return ""
	}
	return d.Chosen().Node
}
