package fec

import (
	"fmt"
	"time"
)

// EncoderConfig configures an Encoder.
type EncoderConfig struct {
	// MaxPayload is the largest source payload accepted, in bytes; 0 means
	// 1500. Larger payloads are refused with ErrOversize and counted.
	MaxPayload int `yaml:"max_payload"`
	// FirstGroup is the id of the first group (ids then increase by one).
	FirstGroup uint64 `yaml:"first_group"`
}

// EncoderStats counts what an Encoder did.
type EncoderStats struct {
	Sources, SourceBytes uint64 // payloads accepted
	Groups               uint64 // groups sealed
	ShortGroups          uint64 // of which sealed before reaching K
	Repairs, RepairBytes uint64 // repair symbols produced
	Oversize             uint64 // payloads refused as too large
	// DroppedRepairs counts repair symbols discarded because the caller
	// let more than maxPending accumulate without calling Repairs.
	DroppedRepairs uint64
}

// maxPending bounds the repair symbols held for a caller that does not
// collect them.
const maxPending = 4 * MaxShards

// lane is one open group. With interleaving several lanes are open at once.
type lane struct {
	group  uint64
	srcs   [][]byte // each holds [length][payload]
	maxLen int
	opened time.Time
}

// Encoder accumulates source payloads into groups and emits repair symbols
// when a group is sealed: when it reaches K sources, on Flush, or when
// FlushDue finds it open longer than Params.MaxDelay. It is not safe for
// concurrent use and allocates nothing once its buffers have warmed up.
type Encoder struct {
	maxPayload int
	params     Params
	lanes      []lane
	next       int    // lane of the next source
	nextGroup  uint64 // id of the next group to open
	bufs       bufPool
	codecs     codecs
	shards     [][]byte
	pending    []Repair // produced, not yet returned by Repairs
	handed     []Repair // returned by Repairs; recycled by the next call
	stats      EncoderStats
}

// NewEncoder returns an encoder with FEC disabled until SetParams.
func NewEncoder(cfg EncoderConfig) *Encoder {
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 1500
	}
	cfg.MaxPayload = min(cfg.MaxPayload, MaxPayload)
	return &Encoder{
		maxPayload: cfg.MaxPayload,
		nextGroup:  cfg.FirstGroup,
		bufs:       bufPool{size: cfg.MaxPayload + lenPrefix},
	}
}

// Params returns the parameters in force.
func (e *Encoder) Params() Params { return e.params }

// Stats returns the counters.
func (e *Encoder) Stats() EncoderStats { return e.stats }

// SetParams changes the coding parameters. Open groups are sealed first
// (their repairs become pending) when the group size or interleaving
// changes; a change of M alone applies to the groups already open.
func (e *Encoder) SetParams(p Params) error {
	if p.Enabled() && (p.K+p.M > MaxShards || p.K < 1 || p.M < 1) {
		return fmt.Errorf("%w: k=%d m=%d", ErrInvalid, p.K, p.M)
	}
	p.Interleave = max(p.Interleave, 1)
	if p.K != e.params.K || p.Interleave != e.params.Interleave {
		e.recycle()
		if err := e.sealAll(); err != nil {
			return err
		}
		e.lanes = e.lanes[:0]
		if p.Enabled() {
			for range p.Interleave {
				e.lanes = append(e.lanes, lane{})
			}
		}
		e.next = 0
	}
	e.params = p
	return nil
}

// Add protects payload (copied) and reports where it went. If it completes
// a group, that group's repair symbols become available from Repairs.
func (e *Encoder) Add(now time.Time, payload []byte) (SourceID, error) {
	e.recycle()
	if !e.params.Enabled() {
		return SourceID{}, ErrDisabled
	}
	if len(payload) > e.maxPayload {
		e.stats.Oversize++
		return SourceID{}, fmt.Errorf("%w: %d > %d bytes", ErrOversize, len(payload), e.maxPayload)
	}
	l := &e.lanes[e.next]
	e.next = (e.next + 1) % len(e.lanes)
	if len(l.srcs) == 0 {
		l.group = e.nextGroup
		e.nextGroup++
		l.opened = now
		l.maxLen = 0
	}
	b := e.bufs.get()[:lenPrefix+len(payload)]
	putLen(b, len(payload))
	copy(b[lenPrefix:], payload)
	id := SourceID{Group: l.group, Index: len(l.srcs)}
	l.srcs = append(l.srcs, b)
	l.maxLen = max(l.maxLen, len(payload))
	e.stats.Sources++
	e.stats.SourceBytes += uint64(len(payload))
	if len(l.srcs) >= e.params.K {
		return id, e.seal(l)
	}
	return id, nil
}

// Flush seals every open group now, whatever its size: call it when the
// data that needs protecting has all been added (e.g. a message's last
// packet), so its repairs are not held back.
func (e *Encoder) Flush() error {
	e.recycle()
	return e.sealAll()
}

// NextFlush is when the oldest open group reaches Params.MaxDelay; zero if
// no group is open or MaxDelay is 0. A driver arms a timer for it and calls
// FlushDue.
func (e *Encoder) NextFlush() time.Time {
	var t time.Time
	if e.params.MaxDelay <= 0 {
		return t
	}
	for i := range e.lanes {
		if l := &e.lanes[i]; len(l.srcs) > 0 {
			if due := l.opened.Add(e.params.MaxDelay); t.IsZero() || due.Before(t) {
				t = due
			}
		}
	}
	return t
}

// FlushDue seals the groups open for at least Params.MaxDelay at now.
func (e *Encoder) FlushDue(now time.Time) error {
	e.recycle()
	if e.params.MaxDelay <= 0 {
		return nil
	}
	for i := range e.lanes {
		if l := &e.lanes[i]; len(l.srcs) > 0 && !now.Before(l.opened.Add(e.params.MaxDelay)) {
			if err := e.seal(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// Repairs returns the repair symbols produced since the last call. The
// slice and the symbols' Data stay valid until the next call to any
// Encoder method that changes it (Add, Flush, FlushDue, SetParams); copy
// them if they must wait longer, e.g. for the pacer.
func (e *Encoder) Repairs() []Repair {
	e.recycle()
	e.handed, e.pending = e.pending, e.handed[:0]
	return e.handed
}

// recycle returns the buffers of the repairs last handed out.
func (e *Encoder) recycle() {
	for i := range e.handed {
		e.bufs.put(e.handed[i].Data)
		e.handed[i] = Repair{}
	}
	e.handed = e.handed[:0]
}

func (e *Encoder) sealAll() error {
	for i := range e.lanes {
		if err := e.seal(&e.lanes[i]); err != nil {
			return err
		}
	}
	return nil
}

// seal pads the lane's sources to one symbol size, computes its repair
// symbols into pending and closes the lane.
func (e *Encoder) seal(l *lane) error {
	k := len(l.srcs)
	if k == 0 {
		return nil
	}
	m := e.params.repairsFor(k)
	if k+m > MaxShards {
		m = MaxShards - k
	}
	size := lenPrefix + l.maxLen
	e.shards = e.shards[:0]
	for _, s := range l.srcs {
		n := len(s)
		s = s[:size]
		clear(s[n:]) // reused buffers: the padding must be zeros on both ends
		e.shards = append(e.shards, s)
	}
	if len(e.pending)+m > maxPending {
		e.stats.DroppedRepairs += uint64(len(e.pending))
		for _, r := range e.pending {
			e.bufs.put(r.Data)
		}
		clear(e.pending)
		e.pending = e.pending[:0]
	}
	first := len(e.pending)
	for j := range m {
		d := e.bufs.get()[:size]
		e.shards = append(e.shards, d)
		e.pending = append(e.pending, Repair{Group: l.group, Index: k + j, K: k, M: m, Data: d})
	}
	rs, err := e.codecs.get(k, m)
	if err == nil {
		err = rs.Encode(e.shards)
	}
	for _, s := range l.srcs {
		e.bufs.put(s)
	}
	clear(l.srcs)
	l.srcs = l.srcs[:0]
	if err != nil {
		for _, r := range e.pending[first:] {
			e.bufs.put(r.Data)
		}
		e.pending = e.pending[:first]
		return fmt.Errorf("fec: encode group %d: %w", l.group, err)
	}
	e.stats.Groups++
	if k < e.params.K {
		e.stats.ShortGroups++
	}
	e.stats.Repairs += uint64(m)
	e.stats.RepairBytes += uint64(m * size)
	return nil
}
