package trunk

import "time"

// Batched flooding. In a storm of room changes (thousands of users
// joining) every record reached every trunk on its own: one write of the
// control stream per record and trunk, so one datagram each, its ACK, and
// the stream's redundant tail (controlOptions) — most of the datagrams of
// a 50-node network while users join. Records that can wait a few tens of
// milliseconds (room records, and link-state records that bring no trunk
// up or down) are queued per trunk instead and written together at most
// once per Config.FloodBatch, so that they fill datagrams. A record after
// a quiet FloodBatch goes out at the end of the Poll that made it, as
// before; only records that follow others within FloodBatch wait.
//
// The wire format does not change: the queued frames are the same frames,
// in the order they were queued, on the same control stream. What may
// change is their order relative to messages sent at once (subscriptions,
// answers to RoomRequest, urgent link state), which the protocol never
// relied on: every record carries its origin's sequence number, and one
// no newer than the held record is dropped as old news.

// floodLater queues an encoded record frame for every up trunk but from.
func (c *Core) floodLater(from string, kind int, frame []byte) {
	if c.cfg.FloodBatch < 0 {
		c.floodFrame(from, kind, frame)
		return
	}
	queued := false
	for _, p := range c.peers {
		if p.up && p.ctrl != nil && p.info.Name != from {
			p.floodOut = append(p.floodOut, frame...)
			p.metrics.ctrl[kind].Msgs++
			p.metrics.ctrl[kind].Bytes += uint64(len(frame))
			queued = true
		}
	}
	if queued && c.floodAt.IsZero() {
		c.floodAt = c.floodSent.Add(c.cfg.FloodBatch)
		if c.floodAt.Before(c.now) {
			c.floodAt = c.now
		}
	}
}

// flushFloods hands every trunk's queued records to its control stream.
func (c *Core) flushFloods(now time.Time) {
	c.floodAt, c.floodSent = time.Time{}, now
	for _, p := range c.peers {
		if len(p.floodOut) == 0 {
			continue
		}
		out := p.floodOut
		p.floodOut = out[:0]
		if cap(out) > 4*ctrlReadChunk {
			p.floodOut = nil // one burst made it large: let it go
		}
		if !p.up || p.ctrl == nil {
			continue
		}
		p.ctrlOut = append(p.ctrlOut, out...)
		if err := p.flush(); err != nil {
			c.closePeer(now, p, err.Error())
		}
	}
}
