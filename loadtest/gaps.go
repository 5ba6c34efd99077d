package loadtest

import (
	"sort"
	"sync"
	"time"
)

// gapMeter records the media gaps a client sees, per remote participant
// and kind ("participant/video"), across the tracks that carry them: a
// participant that moves to another node, or a client that does, brings
// new tracks, and the gap is the time between the last frame on the old
// ones and the first on the new.
//
// A gap also says how much of it the publisher left itself: when the frame
// that ended it directly follows, in the same track, the frame before it
// (no frame lost or skipped), the subscriber saw everything the publisher
// sent, and the publisher's own pause between the two (its synthetic
// encoder starved of CPU on a loaded machine) is not the network's. A gap
// across tracks (a move) or with frames missing is the network's whole.
type gapMeter struct {
	mu     sync.Mutex
	firsts map[string]time.Time
	last   map[string]time.Time
	src    map[string]frameSrc
	gaps   []Gap
}

// frameSrc is where a frame came from: its track, its number in the
// publisher's sequence and when the publisher sent it (the probe).
type frameSrc struct {
	track string
	no    uint32
	sent  time.Time
}

// Gap is one interval without media from a participant.
type Gap struct {
	Participant string    `json:"participant"`
	Kind        string    `json:"kind"`
	At          time.Time `json:"at"` // the last frame before it
	Ms          float64   `json:"ms"`
	// NetMs is the part the publisher did not leave itself (see gapMeter):
	// Ms less the publisher's pause beyond the nominal frame spacing.
	NetMs float64 `json:"net_ms"`
	// Cause says what ended it: "move", a frame of another track (the
	// media moved to new tracks, and the old ones stopped before the new
	// ones delivered: a hole a move left); "loss", a later frame of the
	// same track (frames in between never arrived); "late", the next
	// frame of the same track (nothing was lost: it arrived late, or the
	// publisher paused).
	Cause string `json:"cause"`
}

// Gap causes.
const (
	causeMove = "move"
	causeLoss = "loss"
	causeLate = "late"
)

// spacing is the nominal time between a publisher's frames of a kind.
func spacing(kind string) time.Duration {
	if kind == "audio" {
		return 20 * time.Millisecond
	}
	return 40 * time.Millisecond
}

// minGap: shorter silences are frame spacing and jitter, not gaps (video
// at 25 fps is 40 ms apart, audio 20 ms).
const minGap = 100 * time.Millisecond

// maxGaps bounds the gaps kept per client.
const maxGaps = 2000

func newGapMeter() *gapMeter {
	return &gapMeter{firsts: map[string]time.Time{}, last: map[string]time.Time{}, src: map[string]frameSrc{}}
}

// frame records a frame of key ("participant/kind") from src at now, and
// returns the gap it ends, if it ends one (with the frame before it).
func (g *gapMeter) frame(key string, now time.Time, src frameSrc) (gap Gap, before frameSrc, ended bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev, ok := g.last[key]
	if ok && !now.After(prev) {
		return Gap{}, frameSrc{}, false // an older track's straggler
	}
	prevSrc := g.src[key]
	g.last[key], g.src[key] = now, src
	if !ok {
		g.firsts[key] = now
	}
	if ok && now.Sub(prev) >= minGap && len(g.gaps) < maxGaps {
		p, k := splitKey(key)
		gap := now.Sub(prev)
		net := gap
		cause := causeMove
		if src.track == prevSrc.track {
			cause = causeLoss
		}
		if src.track == prevSrc.track && src.no == prevSrc.no+1 {
			cause = causeLate
			if !prevSrc.sent.IsZero() {
				if paused := src.sent.Sub(prevSrc.sent) - spacing(k); paused > 0 {
					net = max(gap-paused, 0)
				}
			}
		}
		g.gaps = append(g.gaps, Gap{Participant: p, Kind: k, At: prev, Ms: ms(gap), NetMs: ms(net), Cause: cause})
		return g.gaps[len(g.gaps)-1], prevSrc, true
	}
	return Gap{}, frameSrc{}, false
}

func splitKey(key string) (participant, kind string) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return key, ""
}

// first is when key's first frame arrived (zero: never).
func (g *gapMeter) first(key string) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.firsts[key]
}

// lastFrame is when key's last frame arrived (zero: never).
func (g *gapMeter) lastFrame(key string) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last[key]
}

// longest is the longest gap of key that overlaps [from, to], including
// one still open at to; 0 when media flowed throughout.
func (g *gapMeter) longest(key string, from, to time.Time) time.Duration {
	return g.longestOf(key, from, to, false)
}

// longestNet is longest counting only the part of each gap the publisher
// did not leave itself (NetMs), and only gaps whose part is minGap or more.
func (g *gapMeter) longestNet(key string, from, to time.Time) time.Duration {
	return g.longestOf(key, from, to, true)
}

func (g *gapMeter) longestOf(key string, from, to time.Time, net bool) time.Duration {
	p, k := splitKey(key)
	g.mu.Lock()
	defer g.mu.Unlock()
	var worst time.Duration
	for _, x := range g.gaps {
		end := x.At.Add(time.Duration(x.Ms * float64(time.Millisecond)))
		if x.Participant == p && x.Kind == k && end.After(from) && x.At.Before(to) {
			d := end.Sub(x.At)
			if net {
				if d = time.Duration(x.NetMs * float64(time.Millisecond)); d < minGap {
					continue
				}
			}
			worst = max(worst, d)
		}
	}
	if last, ok := g.last[key]; ok && to.Sub(last) >= minGap {
		worst = max(worst, to.Sub(last))
	}
	return worst
}

// list returns the gaps of at least min, oldest first.
func (g *gapMeter) list(min time.Duration) []Gap {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Gap
	for _, x := range g.gaps {
		if x.Ms >= ms(min) {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
