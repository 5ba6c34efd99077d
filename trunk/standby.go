package trunk

import (
	"github.com/qrtn/qrtn/trunk/route"
)

// Dual audio. Audio is small and what a listener misses first, so a room
// mode may carry it to an access node twice (Scenario.DualAudio): besides
// its upstream, a local audio flow takes a standby upstream, the first hop
// of the best route that avoids the trunk to the upstream. Both relay the
// same RTP packets; the sequence window passes each once, so the listener
// hears no gap when either route fails, and the flow's failover replaces
// the lost one at leisure. The standby is chosen at this node only; the
// nodes behind it route as they always do, which in a backbone (access
// nodes hung off forwarding nodes) keeps the two routes apart.

// planStandby keeps f's standby upstream in line with the graph.
func (c *Core) planStandby(f *flow) {
	if f.kind != "audio" || !f.local || f.up == "" || f.up == c.cfg.Name ||
		!c.cfg.Scenarios[string(f.mode)].DualAudio {
		f.standby = ""
		return
	}
	if f.standby != "" && f.standby != f.up && c.usable(f.standby) {
		return // keep it: a standby is no route to optimize
	}
	f.standby = ""
	alt := c.ls.build(c.cfg.Costs, map[[2]string]bool{{c.cfg.Name, f.up}: true, {f.up, c.cfg.Name}: true})
	path, _, ok := alt.Path(f.mode, f.key.track.Origin, c.cfg.Name)
	if !ok {
		return
	}
	if up := (route.Route{Path: path}).Upstream(c.cfg.Name); up != f.up && c.usable(up) {
		f.standby = up
	}
}
