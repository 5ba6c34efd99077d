package trunk

import (
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

// Fast failover. A trunk is declared down after IdleTimeout (1.5 s) of
// silence: long enough that a lossy or briefly congested trunk is not torn
// down, re-dialled and flooded as down. But a trunk that feeds this node
// media is never silent for long when healthy: media (audio every 20 ms),
// ACKs and keep-alives keep coming. So such a trunk becomes suspect after
// FailoverAfter without a packet (at least a round trip and a keep-alive
// interval, plus a margin), and the flows it feeds move at once to the
// next best route, as if the trunk were down but only in this node's own
// plan: nothing is flooded and the trunk stays up. Where no other route
// exists, the flows stay on the suspect trunk (sync.go, planUpstreams). If the trunk is heard
// again it is trusted again, and routes come back through it with the
// usual hysteresis; if it stays silent, the idle timeout takes it down as
// before.

// feedingWindow: a trunk feeds this node while media came from it this
// recently.
const feedingWindow = time.Second

// suspectAfter is how long a trunk that feeds media may stay silent.
func (c *Core) suspectAfter(p *peer) time.Duration {
	return max(c.cfg.FailoverAfter, p.metrics.rtt+100*time.Millisecond, c.cfg.KeepAlive+100*time.Millisecond)
}

// checkSuspects marks silent feeding trunks suspect and clears those heard
// again; it returns when it next needs to run (zero: nothing to watch).
func (c *Core) checkSuspects(now time.Time) time.Time {
	if c.cfg.FailoverAfter < 0 {
		return time.Time{}
	}
	var next time.Time
	changed := false
	if c.allSilent(now) {
		c.log.Info("every trunk silent at once: probing before failover")
		c.probeAll(now)
	}
	for _, p := range c.peers {
		if !p.up || p.conn == nil {
			continue
		}
		last := p.conn.LastReceived()
		if p.suspect {
			if last.After(p.suspectAt) {
				p.suspect = false
				changed = true
				c.log.Info("trunk heard again", "peer", p.info.Name, "silent", last.Sub(p.suspectAt))
			}
			continue
		}
		if now.Sub(p.lastMedia) > feedingWindow {
			continue
		}
		due := last.Add(c.suspectAfter(p))
		if probe := c.probeDue(p); due.Before(probe) {
			due = probe // our own stall: one probe first (stall.go)
		}
		if !now.Before(due) {
			p.suspect, p.suspectAt = true, now
			changed = true
			c.stats.suspects++
			c.log.Warn("trunk silent: flows it feeds move", "peer", p.info.Name, "silent", now.Sub(last))
			continue
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	if changed {
		c.resync()
	}
	return next
}

// usable reports whether a peer may be a flow's upstream: its trunk is up
// and not suspect.
func (c *Core) usable(name string) bool {
	p := c.byName[name]
	return p != nil && p.up && !p.suspect
}

// suspectUp reports whether a peer's trunk is up but suspect: the flows it
// feeds move to another route if there is one, and stay if not.
func (c *Core) suspectUp(name string) bool {
	p := c.byName[name]
	return p != nil && p.up && p.suspect
}

// graph is the planner's view: the flooded link state, with this node's
// suspect trunks taken as down.
func (c *Core) graph() *route.Graph {
	var down map[[2]string]bool
	for _, p := range c.peers {
		if p.up && p.suspect {
			if down == nil {
				down = map[[2]string]bool{}
			}
			down[[2]string{c.cfg.Name, p.info.Name}] = true
			down[[2]string{p.info.Name, c.cfg.Name}] = true
		}
	}
	if down == nil {
		return c.ls.graph(c.cfg.Costs)
	}
	return c.ls.build(c.cfg.Costs, down) // not cached: suspicion is rare and short
}
