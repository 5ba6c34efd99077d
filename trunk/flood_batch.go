package trunk

import "time"

// Batched flooding. In a storm of room changes (thousands of users
// joining) every record reached every trunk on its own: one write of the
// control stream per record and trunk, so one datagram each, its ACK, and
// the stream's redundant tail (controlOptions) — most of the datagrams of
// a 50-node network while users join. Records that can wait a few tens of
// milliseconds (room records, and link-state records that bring no trunk
// up or down) are queued instead and written to every trunk together at
// most once per Config.FloodBatch, so that they fill datagrams. A record
// after a quiet FloodBatch goes out at the end of the Poll that made it,
// as before; only records that follow others within FloodBatch wait.
//
// While a record waits, a copy of it may arrive from another neighbour
// (flooding sends every record over every trunk): that neighbour has it,
// and is not sent it again. In a network of redundant trunks this saves
// most of the copies an access node would pass back to its second uplink.
//
// The wire format does not change: the queued frames are the same frames,
// in the order they were queued, on the same control stream. What may
// change is their order relative to messages sent at once (subscriptions,
// answers to RoomRequest, urgent link state), which the protocol never
// relied on: every record carries its origin's sequence number, and one
// no newer than the held record is dropped as old news.

// floodQueue holds the records waiting for Core.floodAt.
type floodQueue struct {
	buf   []byte        // the queued frames, back to back
	items []queuedFrame // in queue order
	// has marks, per item, the peers (by index in Core.peers) that hold
	// the record already: the one it came from, and any that sent a copy
	// meanwhile. words bitmask words per item, items back to back.
	has   []uint64
	words int
	byID  map[frameID]int // item index by frame
}

type queuedFrame struct {
	kind       int
	start, end int      // in buf
	room       *roomKey // a room record's, for scoped peers (flood_scope.go)
}

// floodLater queues an encoded record frame for every up trunk but from.
func (c *Core) floodLater(from string, kind int, frame []byte, rk *roomKey) {
	if c.cfg.FloodBatch <= 0 {
		c.floodFrame(from, kind, frame, rk)
		return
	}
	q := &c.floodQ
	if q.byID == nil {
		q.byID = map[frameID]int{}
		q.words = (len(c.peers) + 63) / 64
	}
	id := c.seen.id(frame)
	i, ok := q.byID[id]
	if !ok {
		i = len(q.items)
		q.byID[id] = i
		q.items = append(q.items, queuedFrame{kind: kind, start: len(q.buf), end: len(q.buf) + len(frame), room: rk})
		q.buf = append(q.buf, frame...)
		for range q.words {
			q.has = append(q.has, 0)
		}
	}
	if p := c.byName[from]; p != nil {
		q.has[i*q.words+p.idx/64] |= 1 << (p.idx % 64)
	}
	if c.floodAt.IsZero() {
		c.floodAt = c.floodSent.Add(c.cfg.FloodBatch)
		if c.floodAt.Before(c.now) {
			c.floodAt = c.now
		}
	}
}

// heardCopy notes that p sent a record: if the record waits in the queue,
// p is not sent it.
func (c *Core) heardCopy(p *peer, id frameID) {
	q := &c.floodQ
	if i, ok := q.byID[id]; ok {
		q.has[i*q.words+p.idx/64] |= 1 << (p.idx % 64)
	}
}

// flushFloods hands every trunk the queued records it does not hold.
func (c *Core) flushFloods(now time.Time) {
	c.floodAt, c.floodSent = time.Time{}, now
	q := &c.floodQ
	for _, p := range c.peers {
		if !p.up || p.ctrl == nil {
			continue
		}
		sent := false
		for i, it := range q.items {
			if q.has[i*q.words+p.idx/64]&(1<<(p.idx%64)) != 0 ||
				(it.room != nil && !tells(p, it.room.origin, it.room.room)) {
				continue
			}
			p.ctrlOut = append(p.ctrlOut, q.buf[it.start:it.end]...)
			p.metrics.ctrl[it.kind].Msgs++
			p.metrics.ctrl[it.kind].Bytes += uint64(it.end - it.start)
			sent = true
		}
		if sent {
			if err := p.flush(); err != nil {
				c.closePeer(now, p, err.Error())
			}
		}
	}
	q.buf, q.items, q.has = q.buf[:0], q.items[:0], q.has[:0]
	if cap(q.buf) > 4*ctrlReadChunk {
		q.buf = nil // one burst made it large: let it go
	}
	clear(q.byID)
}
