package fec

import (
	"fmt"
	"time"
)

// DecoderConfig bounds a Decoder's memory: at most MaxGroups groups of at
// most MaxShards symbols of at most MaxPayload+2 bytes are held.
type DecoderConfig struct {
	// MaxPayload is the largest source payload accepted; 0 means 1500.
	MaxPayload int `yaml:"max_payload"`
	// MaxShards is the largest k+m accepted; 0 means 64.
	MaxShards int `yaml:"max_shards"`
	// MaxGroups is how many incomplete groups are kept; 0 means 32. The
	// oldest is evicted to make room.
	MaxGroups int `yaml:"max_groups"`
	// MaxAge evicts a group this long after its first symbol; 0 means 2s.
	MaxAge time.Duration `yaml:"max_age"`
}

func (c DecoderConfig) withDefaults() DecoderConfig {
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1500
	}
	c.MaxPayload = min(c.MaxPayload, MaxPayload)
	if c.MaxShards <= 0 {
		c.MaxShards = 64
	}
	c.MaxShards = min(c.MaxShards, MaxShards)
	if c.MaxGroups <= 0 {
		c.MaxGroups = 32
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 2 * time.Second
	}
	return c
}

// DecoderStats counts what a Decoder did.
type DecoderStats struct {
	Sources, Repairs uint64 // symbols accepted
	Recovered        uint64 // source payloads rebuilt
	GroupsRecovered  uint64 // groups in which at least one source was rebuilt
	// GroupsFailed counts groups evicted with sources missing although
	// their shape was known (a repair arrived): FEC could not help.
	GroupsFailed uint64
	// Evicted counts groups evicted before any repair arrived.
	Evicted uint64
	// Late counts symbols for groups already finished: normal for the
	// repairs that follow a group whose sources all arrived.
	Late      uint64
	Duplicate uint64 // symbols already held
	Oversize  uint64 // symbols larger than the limits
	Invalid   uint64 // symbols inconsistent with the limits or their group
}

// group is one group being collected.
type group struct {
	id      uint64
	created time.Time
	k, m    int // 0 until a repair announces them
	size    int // symbol size, known with k
	slots   [][]byte
	nSrc    int
	nRep    int
}

// Decoder collects source and repair symbols per group and rebuilds the
// missing sources as soon as any k of a group's n symbols are present. It
// is not safe for concurrent use.
type Decoder struct {
	cfg    DecoderConfig
	groups map[uint64]*group
	order  []*group // by creation, oldest first
	free   []*group
	// done remembers recently finished groups so late symbols do not open
	// them again; a ring bounds it.
	done     map[uint64]struct{}
	doneRing []uint64
	doneNext int

	bufs   bufPool
	codecs codecs
	shards [][]byte
	out    []Recovered
	lent   [][]byte // buffers behind out; recycled by the next call
	stats  DecoderStats
}

// NewDecoder returns an empty decoder.
func NewDecoder(cfg DecoderConfig) *Decoder {
	cfg = cfg.withDefaults()
	return &Decoder{
		cfg:      cfg,
		groups:   make(map[uint64]*group),
		done:     make(map[uint64]struct{}),
		doneRing: make([]uint64, 0, 8*cfg.MaxGroups),
		bufs:     bufPool{size: cfg.MaxPayload + lenPrefix},
	}
}

// Stats returns the counters.
func (d *Decoder) Stats() DecoderStats { return d.stats }

// Open is the number of groups being collected.
func (d *Decoder) Open() int { return len(d.groups) }

// AddSource records a source payload (copied) that arrived. It returns the
// sources this made recoverable, valid until the next call.
func (d *Decoder) AddSource(now time.Time, id SourceID, payload []byte) ([]Recovered, error) {
	d.begin(now)
	if len(payload) > d.cfg.MaxPayload {
		d.stats.Oversize++
		return nil, fmt.Errorf("%w: source of %d bytes", ErrOversize, len(payload))
	}
	if id.Index < 0 || id.Index >= d.cfg.MaxShards-1 {
		d.stats.Invalid++
		return nil, fmt.Errorf("%w: source index %d", ErrInvalid, id.Index)
	}
	g := d.group(now, id.Group)
	if g == nil {
		return nil, nil
	}
	if g.k > 0 && (id.Index >= g.k || lenPrefix+len(payload) > g.size) {
		d.stats.Invalid++
		return nil, fmt.Errorf("%w: source %d of %d bytes in group k=%d size=%d", ErrInvalid, id.Index, len(payload), g.k, g.size)
	}
	if g.slots[id.Index] != nil {
		d.stats.Duplicate++
		return nil, nil
	}
	b := d.bufs.get()[:lenPrefix+len(payload)]
	putLen(b, len(payload))
	copy(b[lenPrefix:], payload)
	g.slots[id.Index] = b
	g.nSrc++
	d.stats.Sources++
	return d.settle(g)
}

// AddRepair records a repair symbol (copied) that arrived. It returns the
// sources this made recoverable, valid until the next call.
func (d *Decoder) AddRepair(now time.Time, r Repair) ([]Recovered, error) {
	d.begin(now)
	if len(r.Data) > d.cfg.MaxPayload+lenPrefix {
		d.stats.Oversize++
		return nil, fmt.Errorf("%w: repair of %d bytes", ErrOversize, len(r.Data))
	}
	if r.K < 1 || r.M < 1 || r.K+r.M > d.cfg.MaxShards || r.Index < r.K || r.Index >= r.K+r.M || len(r.Data) < lenPrefix {
		d.stats.Invalid++
		return nil, fmt.Errorf("%w: repair %d of k=%d m=%d, %d bytes", ErrInvalid, r.Index, r.K, r.M, len(r.Data))
	}
	g := d.group(now, r.Group)
	if g == nil {
		return nil, nil
	}
	if g.k == 0 {
		if err := d.shape(g, r.K, r.M, len(r.Data)); err != nil {
			return nil, err
		}
	} else if g.k != r.K || g.m != r.M || g.size != len(r.Data) {
		d.stats.Invalid++
		return nil, fmt.Errorf("%w: repair k=%d m=%d size=%d in group k=%d m=%d size=%d", ErrInvalid, r.K, r.M, len(r.Data), g.k, g.m, g.size)
	}
	if g.slots[r.Index] != nil {
		d.stats.Duplicate++
		return nil, nil
	}
	g.slots[r.Index] = append(d.bufs.get(), r.Data...)
	g.nRep++
	d.stats.Repairs++
	return d.settle(g)
}

// shape fixes a group's k, m and symbol size from its first repair, and
// drops the group if the sources it already holds contradict them.
func (d *Decoder) shape(g *group, k, m, size int) error {
	for i, s := range g.slots {
		if s != nil && (i >= k || len(s) > size) {
			d.stats.Invalid++
			d.finish(g)
			return fmt.Errorf("%w: group %d: source %d (%d bytes) does not fit k=%d size=%d", ErrInvalid, g.id, i, len(s), k, size)
		}
	}
	g.k, g.m, g.size = k, m, size
	return nil
}

// begin recycles what the previous call lent out and evicts old groups.
func (d *Decoder) begin(now time.Time) {
	for _, b := range d.lent {
		d.bufs.put(b)
	}
	clear(d.lent)
	d.lent = d.lent[:0]
	clear(d.out)
	d.out = d.out[:0]
	for len(d.order) > 0 && now.Sub(d.order[0].created) >= d.cfg.MaxAge {
		d.evict(d.order[0])
	}
}

// group finds or opens the group id; nil if it already finished.
func (d *Decoder) group(now time.Time, id uint64) *group {
	if g := d.groups[id]; g != nil {
		return g
	}
	if _, ok := d.done[id]; ok {
		d.stats.Late++
		return nil
	}
	for len(d.order) >= d.cfg.MaxGroups {
		d.evict(d.order[0])
	}
	var g *group
	if n := len(d.free); n > 0 {
		g = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		g = &group{slots: make([][]byte, d.cfg.MaxShards)}
	}
	g.id, g.created = id, now
	d.groups[id] = g
	d.order = append(d.order, g)
	return g
}

// settle recovers what the group allows and retires it once complete.
func (d *Decoder) settle(g *group) ([]Recovered, error) {
	if g.k == 0 {
		return nil, nil
	}
	if g.nSrc >= g.k {
		d.finish(g)
		return nil, nil
	}
	if g.nSrc+g.nRep < g.k {
		return nil, nil
	}
	err := d.reconstruct(g)
	d.finish(g)
	return d.out, err
}

// reconstruct rebuilds the missing sources of g into d.out.
func (d *Decoder) reconstruct(g *group) error {
	n := g.k + g.m
	d.shards = d.shards[:0]
	for i := range n {
		s := g.slots[i]
		switch {
		case s != nil && i < g.k:
			l := len(s)
			s = s[:g.size]
			clear(s[l:])
		case s == nil && i < g.k:
			s = d.bufs.get() // empty with capacity: ReconstructData fills it
			g.slots[i] = s
		}
		d.shards = append(d.shards, s)
	}
	rs, err := d.codecs.get(g.k, g.m)
	if err == nil {
		err = rs.ReconstructData(d.shards)
	}
	if err != nil {
		d.stats.Invalid++
		return fmt.Errorf("fec: group %d: %w", g.id, err)
	}
	for i := range g.k {
		if len(g.slots[i]) != 0 { // held before: not recovered
			continue
		}
		s := d.shards[i]
		g.slots[i] = s // handed to finish, which releases it to lent
		l := getLen(s)
		if lenPrefix+l > len(s) {
			d.stats.Invalid++
			continue
		}
		d.out = append(d.out, Recovered{ID: SourceID{Group: g.id, Index: i}, Payload: s[lenPrefix : lenPrefix+l]})
	}
	if len(d.out) > 0 {
		d.stats.GroupsRecovered++
		d.stats.Recovered += uint64(len(d.out))
	}
	return nil
}

// finish retires g: its buffers go back to the pool (or, when they back a
// Recovered payload, to lent), and its id is remembered as done.
func (d *Decoder) finish(g *group) {
	for i, s := range g.slots {
		if s != nil {
			d.lent = append(d.lent, s)
			g.slots[i] = nil
		}
	}
	id := g.id
	d.retire(g)
	if len(d.doneRing) < cap(d.doneRing) {
		d.doneRing = append(d.doneRing, id)
	} else {
		delete(d.done, d.doneRing[d.doneNext])
		d.doneRing[d.doneNext] = id
		d.doneNext = (d.doneNext + 1) % len(d.doneRing)
	}
	d.done[id] = struct{}{}
}

// evict drops g unrecovered.
func (d *Decoder) evict(g *group) {
	if g.k == 0 {
		d.stats.Evicted++
	} else {
		d.stats.GroupsFailed++
	}
	for i, s := range g.slots {
		if s != nil {
			d.bufs.put(s)
			g.slots[i] = nil
		}
	}
	d.retire(g)
}

// retire removes g from the indexes and recycles it.
func (d *Decoder) retire(g *group) {
	delete(d.groups, g.id)
	for i, o := range d.order {
		if o == g {
			d.order = append(d.order[:i], d.order[i+1:]...)
			break
		}
	}
	*g = group{slots: g.slots}
	d.free = append(d.free, g)
}
