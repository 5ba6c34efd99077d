package loadtest

import (
	"time"
)

// recvPacket is what the accounting needs from one received RTP packet.
type recvPacket struct {
	seq        uint16
	ts         uint32
	marker     bool
	frameStart bool // video: the packet starts a frame (VP8 S=1, partition 0)
	probe      probe
	hasProbe   bool
	size       int // bytes of the RTP packet
}

// seqWindow is how many recent sequence numbers dedup remembers.
const seqWindow = 1 << 13

// maxPendingFrames bounds the frames being reassembled per track.
const maxPendingFrames = 256

type frameAsm struct {
	start, end       uint64
	hasStart, hasEnd bool
	count            uint64
	probe            probe
	hasProbe         bool
	firstArrival     time.Time
}

// trackRecv accounts for one received track: loss from sequence numbers,
// frame completion, frame latency, missing frames and stalls. It is a pure
// state machine: the caller passes each packet with its arrival time.
type trackRecv struct {
	video      bool
	stallAfter time.Duration

	started     bool
	base, high  uint64 // extended sequence numbers
	seen        [seqWindow / 64]uint64
	packets     uint64 // every packet, duplicates included
	unique      uint64
	late        uint64 // arrived after a higher sequence number: repaired or reordered
	dups        uint64
	bytes       uint64
	pending     map[uint32]*frameAsm
	frames      uint64
	firstFrame  time.Time
	lastFrame   time.Time
	frameSeen   bool
	lastFrameNo uint32
	missed      uint64
	layerFrames map[byte]uint64

	// The measurement window: latency and stalls count from its start,
	// counters as differences from the baseline taken then.
	win       counters
	latency   histogram
	stalls    int
	stallTime time.Duration
	// Loss in the window: sequence numbers above winHigh (the highest at
	// the window's start) that left the dedup window unreceived, plus those
	// still missing now.
	winHigh   uint64
	lostAfter uint64
	// The progress interval, likewise.
	ivl        counters
	ivlLatency histogram
	// onFrameAt, when set, hears every complete frame (the client's gap
	// meter, which outlives a track replaced by a move).
	onFrameAt func(time.Time, probe)
}

// counters are the cumulative counts a window or interval subtracts.
type counters struct {
	expected, unique, late, bytes, frames, missed uint64
}

func (c counters) sub(o counters) counters {
	return counters{c.expected - o.expected, c.unique - o.unique, c.late - o.late, c.bytes - o.bytes, c.frames - o.frames, c.missed - o.missed}
}

func (r *trackRecv) counters() counters {
	return counters{r.expected(), r.unique, r.late, r.bytes, r.frames, r.missed}
}

// resetWindow starts the measurement window.
func (r *trackRecv) resetWindow() {
	r.win = r.counters()
	if r.started {
		r.winHigh, r.lostAfter = r.high, 0
	}
	r.latency = histogram{}
	r.stalls, r.stallTime = 0, 0
}

// interval returns the counts and latencies since the previous call, and
// starts a new interval.
func (r *trackRecv) interval() (counters, histogram) {
	c := r.counters()
	d := c.sub(r.ivl)
	r.ivl = c
	h := r.ivlLatency
	r.ivlLatency = histogram{}
	return d, h
}

func newTrackRecv(video bool, stallAfter time.Duration) *trackRecv {
	return &trackRecv{video: video, stallAfter: stallAfter, pending: map[uint32]*frameAsm{}, layerFrames: map[byte]uint64{}}
}

func (r *trackRecv) bit(ext uint64) (word int, mask uint64) {
	i := ext % seqWindow
	return int(i / 64), 1 << (i % 64)
}

// sequence places a packet in the extended sequence space and reports
// whether it is new (not a duplicate).
func (r *trackRecv) sequence(seq uint16) (uint64, bool) {
	if !r.started {
		r.started = true
		ext := uint64(seq) + 1<<16 // room below for packets reordered before the first
		r.base, r.high = ext, ext
		r.winHigh = ext - 1
		w, m := r.bit(ext)
		r.seen[w] |= m
		return ext, true
	}
	ext := uint64(int64(r.high) + int64(int16(seq-uint16(r.high))))
	switch {
	case ext > r.high:
		// Forget the bits of the sequence numbers the window slides over;
		// those never received are lost for good.
		if ext-r.high >= seqWindow {
			r.lostAfter += r.missing(r.high-seqWindow+1, r.high)
			r.lostAfter += ext - seqWindow - r.high // never inside the dedup window
			clear(r.seen[:])
		} else {
			for e := r.high + 1; e <= ext; e++ {
				w, m := r.bit(e)
				if old := e - seqWindow; e >= seqWindow && old >= r.base && old > r.winHigh && r.seen[w]&m == 0 {
					r.lostAfter++
				}
				r.seen[w] &^= m
			}
		}
		r.high = ext
	case r.high-ext >= seqWindow:
		return ext, false // too old to tell: treat as a duplicate
	default:
		w, m := r.bit(ext)
		if r.seen[w]&m != 0 {
			return ext, false
		}
		r.late++
		if ext < r.base {
			r.base = ext
		}
	}
	w, m := r.bit(ext)
	r.seen[w] |= m
	return ext, true
}

// onPacket accounts for one packet that arrived at now.
func (r *trackRecv) onPacket(p recvPacket, now time.Time) {
	r.packets++
	r.bytes += uint64(p.size)
	ext, fresh := r.sequence(p.seq)
	if !fresh {
		r.dups++
		return
	}
	r.unique++
	if !r.video {
		if p.hasProbe {
			r.onFrame(p.probe, now)
		}
		return
	}
	f := r.pending[p.ts]
	if f == nil {
		if len(r.pending) >= maxPendingFrames {
			r.evict(now)
		}
		f = &frameAsm{firstArrival: now}
		r.pending[p.ts] = f
	}
	f.count++
	if p.frameStart {
		f.hasStart, f.start = true, ext
		f.probe, f.hasProbe = p.probe, p.hasProbe
	}
	if p.marker {
		f.hasEnd, f.end = true, ext
	}
	if f.hasStart && f.hasEnd && f.end >= f.start && f.count == f.end-f.start+1 {
		delete(r.pending, p.ts)
		if f.hasProbe {
			r.onFrame(f.probe, now)
		}
	}
}

// evict drops frames that have waited more than a second, or, if none has,
// an arbitrary one: an incomplete frame is never completed that late.
func (r *trackRecv) evict(now time.Time) {
	for ts, f := range r.pending {
		if now.Sub(f.firstArrival) > time.Second {
			delete(r.pending, ts)
		}
	}
	for ts := range r.pending {
		if len(r.pending) < maxPendingFrames {
			break
		}
		delete(r.pending, ts)
	}
}

func (r *trackRecv) onFrame(p probe, now time.Time) {
	if r.onFrameAt != nil {
		r.onFrameAt(now, p)
	}
	r.frames++
	r.latency.add(now.Sub(p.sent))
	r.ivlLatency.add(now.Sub(p.sent))
	if r.frameSeen {
		if gap := now.Sub(r.lastFrame); gap >= r.stallAfter {
			r.stalls++
			r.stallTime += gap
		}
		if p.frame > r.lastFrameNo+1 {
			r.missed += uint64(p.frame - r.lastFrameNo - 1)
		}
	} else {
		r.firstFrame = now
	}
	if !r.frameSeen || p.frame > r.lastFrameNo {
		r.lastFrameNo = p.frame
	}
	r.frameSeen = true
	r.lastFrame = now
	r.layerFrames[p.layer]++
}

// missing counts the sequence numbers in [lo, hi] (within the dedup
// window, above the base and the window's start) not received.
func (r *trackRecv) missing(lo, hi uint64) uint64 {
	lo = max(lo, r.base, r.winHigh+1)
	if r.high >= seqWindow {
		lo = max(lo, r.high-seqWindow+1)
	}
	var n uint64
	for e := lo; e <= hi; e++ {
		if w, m := r.bit(e); r.seen[w]&m == 0 {
			n++
		}
	}
	return n
}

// windowLoss returns the packets lost (after repair) and the packets sent
// since the window began.
func (r *trackRecv) windowLoss() (lost, sent uint64) {
	if !r.started || r.high <= r.winHigh {
		return 0, 0
	}
	return r.lostAfter + r.missing(0, r.high), r.high - r.winHigh
}

// expected is how many packets the sender sent in the span seen so far.
func (r *trackRecv) expected() uint64 {
	if !r.started {
		return 0
	}
	return r.high - r.base + 1
}

// ongoingStall is the current gap without a frame if it already counts as a
// stall at now (a stall that has not ended yet), else 0.
func (r *trackRecv) ongoingStall(now time.Time) time.Duration {
	if !r.frameSeen {
		return 0
	}
	if gap := now.Sub(r.lastFrame); gap >= r.stallAfter {
		return gap
	}
	return 0
}
