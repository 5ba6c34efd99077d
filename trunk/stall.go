package trunk

import "time"

// A stall of this node's own process is not a silent peer. When the whole
// process is descheduled (a CPU-starved machine, a long GC pause), every
// trunk falls silent at once for as long as the stall: nothing was read,
// and the peers in the same process sent nothing either. Taking that
// silence for dead peers moves flows onto other routes whose far nodes
// then wait for a key frame: a visible freeze caused by a false failover.
//
// Two signs tell the silence is ours, and both only defer suspicion by
// one probe: every up trunk is pinged, and a trunk turns suspect only if
// it is still silent a round trip (and a margin) later.
//
//   - Our own wakeup ran late: the Core always wants a Poll within
//     tickEvery (housekeeping), so a Poll later than that by more than
//     stallTolerance means the driver (or the simulator) did not run us.
//   - Every up trunk (at least two) is silent past its suspicion at the
//     same check: a single dead peer leaves the others talking (media,
//     ACKs, keep-alives), so failover of a real failure is unchanged.
//
// A real failure is detected at most one probe later, and only when it
// coincides with one of these.

// stallTolerance is how late a Poll may run before the silence it finds
// is taken as partly ours.
const stallTolerance = 60 * time.Millisecond

// probeWait is how long after a probe a peer must have answered: its
// round trip plus a margin, at least probeMin.
func probeWait(p *peer) time.Duration {
	const probeMin = 100 * time.Millisecond
	return max(probeMin, p.metrics.rtt+50*time.Millisecond)
}

// noticeStall runs at the top of Poll: if this Poll is late, the node was
// not running, and every trunk is probed before any may turn suspect.
func (c *Core) noticeStall(now time.Time) {
	if c.closed || c.cfg.FailoverAfter < 0 {
		return
	}
	if late := now.Sub(c.houseAt); late > stallTolerance {
		c.stats.stalls++
		c.log.Debug("node ran late: trunk silence is ours, probing before failover", "late", late)
		c.probeAll(now)
	}
}

// probeAll pings every up trunk and defers suspicion until each could
// answer (checkSuspects).
func (c *Core) probeAll(now time.Time) {
	c.probedAt = now
	for _, p := range c.peers {
		if p.up && p.conn != nil {
			p.conn.Ping()
		}
	}
}

// probeDue is when a silent peer may turn suspect at the earliest after
// the last probe (zero: no probe pending).
func (c *Core) probeDue(p *peer) time.Time {
	if c.probedAt.IsZero() || p.conn.LastReceived().After(c.probedAt) {
		return time.Time{}
	}
	return c.probedAt.Add(probeWait(p))
}

// allSilent reports whether every up trunk (at least two) has been silent
// past its suspicion at now, and something was heard since the last probe
// (a silence already probed is not probed again): the silence is then
// most likely this node's own, and worth one probe.
func (c *Core) allSilent(now time.Time) bool {
	n, heard := 0, false
	for _, p := range c.peers {
		if !p.up || p.conn == nil {
			continue
		}
		last := p.conn.LastReceived()
		if now.Sub(last) < c.suspectAfter(p) {
			return false
		}
		heard = heard || last.After(c.probedAt)
		n++
	}
	return n >= 2 && heard
}
