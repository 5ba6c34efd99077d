package loadtest

import (
	"fmt"
	"slices"
)

// Selective subscription in a load run (--subscribe-to N): a large room
// where each subscriber receives only a few publishers, as a page showing
// the last N speakers would with subscriptions instead of preferences.

// subscription is the names of the publishers subscriber i subscribes to: SubscribeTo
// of them, in turn from the pool, or nil to receive everyone.
func (c Config) subscription(i int) []string {
	pool := c.SubscribePool
	if pool == 0 {
		pool = c.Publishers
	}
	if c.SubscribeTo <= 0 || pool <= 0 {
		return nil
	}
	out := make([]string, 0, min(c.SubscribeTo, pool))
	for k := range min(c.SubscribeTo, pool) {
		out = append(out, fmt.Sprintf("pub-%d", (i+k)%pool))
	}
	return out
}

// joinMessage is the client's join, without automatic subscription when
// it subscribes to a few participants only.
func (c *client) joinMessage(token string) message {
	m := message{Type: "join", Token: token, Mode: c.p.mode}
	if len(c.p.subscribeTo) > 0 {
		off := false
		m.AutoSubscribe = &off
	}
	return m
}

// sendSubscriptions subscribes to those of ps whose name the client's
// list holds (the node gives identities a suffix), on a link the node
// accepted (a join, or a move to another node) or as they join.
func (c *client) sendSubscriptions(l *link, ps []participantInfo) {
	on := true
	for _, p := range ps {
		if !slices.Contains(c.p.subscribeTo, p.Name) {
			continue
		}
		if err := l.send(message{Type: "subscribe", Participant: jsonString(p.ID), Subscribe: &on}); err != nil {
			c.p.logger.Debug("loadtest: subscribe", "err", err)
		}
	}
}
