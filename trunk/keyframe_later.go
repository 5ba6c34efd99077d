package trunk

import "time"

// A key frame request inside keyframeEvery of the flow's last one is not
// dropped but asked again when the interval ends, at most one waiting per
// flow. Dropping it cost a route switch up to a second: a flow that moves
// to a new route (a failover, a suspect trunk) asks the new upstream for
// a key frame at once, but at the publisher's node (or any node on the
// way) a request that came just before, from another subscriber or from
// the old route, had set the throttle; its key frame could already have
// gone out before the new route was subscribed, and the newcomer's
// request went nowhere, so the far node waited for the next round of
// requests. The publisher's SFU still drops a deferred request if a key
// frame arrived meanwhile (sfu/keyframe_defer.go), so the encoder is not
// asked twice for nothing.

// deferKeyframe remembers k's throttled request for when its interval ends.
func (c *Core) deferKeyframe(f *flow) {
	if f.kfLater {
		return
	}
	f.kfLater = true
	c.kfLater = append(c.kfLater, f.key)
	if at := f.pliAt.Add(keyframeEvery); c.kfAt.IsZero() || at.Before(c.kfAt) {
		c.kfAt = at
	}
}

// askDeferredKeyframes asks for the waiting requests whose interval ended;
// it returns when it must run next (zero: none wait).
func (c *Core) askDeferredKeyframes(now time.Time) time.Time {
	if c.kfAt.IsZero() || now.Before(c.kfAt) {
		return c.kfAt
	}
	var next time.Time
	keep := c.kfLater[:0]
	for _, k := range c.kfLater {
		f := c.flows.get(k)
		if f == nil || !f.kfLater {
			continue
		}
		if due := f.pliAt.Add(keyframeEvery); now.Before(due) {
			keep = append(keep, k)
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		f.kfLater = false
		c.requestKeyframe(now, k)
	}
	clear(c.kfLater[len(keep):])
	c.kfLater = keep
	return next
}
