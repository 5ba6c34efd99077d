package trunk

import "hash/maphash"

// A flooded record reaches a node over each of its trunks: a forwarding
// node with twenty neighbours receives every link-state and room change
// twenty times, and all copies but the first are no news. Copies are
// flooded on as they came (floodFrame), so they are byte-identical; seen
// remembers frames already read, with what they said, and a copy whose
// record is no newer than the one held is dropped before it is decoded.
// Decoding JSON was most of the cost of flooding.
//
// The check is the one receiveLinkState and receiveRoom make (a record
// no newer than the held one changes nothing), so dropping the copy
// early changes no outcome: only records of other nodes are remembered
// (our own coming back has its own rules), and only from peers past
// their hello.

// seenFrames maps an encoded frame to the record it carried, in two
// generations: when cur is full it becomes old and a new one starts, so
// the copies of a recent record are still recognised. A frame is known by
// two independent 64-bit hashes of its bytes (keeping the bytes cost
// gigabytes at 500 nodes: a forwarding node's link state is kilobytes);
// two different frames colliding in 128 bits is not a practical concern
// (the seeds are random, but only a collision could make them matter).
type seenFrames struct {
	seeds    [2]maphash.Seed
	cur, old map[frameID]floodRecord
}

type frameID [2]uint64

func (s *seenFrames) id(frame []byte) frameID {
	if s.seeds == ([2]maphash.Seed{}) {
		s.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	}
	return frameID{maphash.Bytes(s.seeds[0], frame), maphash.Bytes(s.seeds[1], frame)}
}

func (s *seenFrames) get(id frameID) (floodRecord, bool) {
	if r, ok := s.cur[id]; ok {
		return r, true
	}
	r, ok := s.old[id]
	return r, ok
}

func (s *seenFrames) put(id frameID, r floodRecord) {
	if len(s.cur) >= maxSeenFrames {
		s.old, s.cur = s.cur, nil
	}
	if s.cur == nil {
		s.cur = make(map[frameID]floodRecord, maxSeenFrames)
	}
	s.cur[id] = r
}

type floodRecord struct {
	kind         int
	origin, room string
	seq          uint64
}

// maxSeenFrames bounds a generation of the cache. Copies of a record
// arrive within a few round trips of each other; a busy forwarding node
// of a 50-node network reads a few thousand new records a second.
const maxSeenFrames = 2048

// rememberFrame notes a decoded flooded record from a peer past its hello.
func (c *Core) rememberFrame(m message, frame []byte) {
	var r floodRecord
	switch {
	case m.LinkState != nil:
		r = floodRecord{kind: kindLinkState, origin: m.LinkState.Origin, seq: m.LinkState.Seq}
	case m.Room != nil:
		r = floodRecord{kind: kindRoom, origin: m.Room.Origin, room: m.Room.Room, seq: m.Room.Seq}
	default:
		return
	}
	if r.origin == c.cfg.Name {
		return
	}
	id := c.seen.id(frame)
	if _, ok := c.seen.get(id); !ok {
		c.seen.put(id, r)
	}
}

// staleCopy reports whether frame is a copy of a record already read and
// no newer than the one held now.
func (c *Core) staleCopy(p *peer, frame []byte) bool {
	if p.hello.Name == "" {
		return false
	}
	id := c.seen.id(frame)
	c.heardCopy(p, id)
	r, ok := c.seen.get(id)
	if !ok {
		return false
	}
	switch r.kind {
	case kindLinkState:
		held, ok := c.ls.get(r.origin)
		return ok && held.Seq >= r.seq
	case kindRoom:
		held, ok := c.rooms.get(r.origin, r.room)
		return ok && held.Seq >= r.seq
	}
	return false
}
