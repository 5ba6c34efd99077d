package sfu

import (
	"slices"
	"sort"
	"time"
)

// speakerParams tunes active speaker detection.
type speakerParams struct {
	// threshold: an RFC 6464 audio level (0 loudest, 127 silence) that the
	// smoothed level must be at or below for a participant to speak.
	threshold int
	// smoothing: weight of the newest interval in the moving average.
	smoothing float64
	// max: at most this many speakers are reported.
	max int
}

var defaultSpeakerParams = speakerParams{threshold: 60, smoothing: 0.5, max: 3}

// speakerDetector turns audio-level header extension samples into a list of
// active speakers, loudest first. Levels are averaged per interval between
// ticks and smoothed across intervals, so a single loud packet does not make
// a speaker and a short pause does not unmake one. Silence (including DTX,
// when no packets arrive) decays the average.
type speakerDetector struct {
	p      speakerParams
	levels map[string]*speakerLevel
	last   []string
}

type speakerLevel struct {
	sum, n   int
	loudness float64 // smoothed, 0 silence .. 127 loudest
}

func newSpeakerDetector(p speakerParams) *speakerDetector {
	return &speakerDetector{p: p, levels: map[string]*speakerLevel{}}
}

// observe records one audio level sample (RFC 6464: -dBov, 0..127).
func (d *speakerDetector) observe(id string, level uint8) {
	l := d.levels[id]
	if l == nil {
		l = &speakerLevel{}
		d.levels[id] = l
	}
	if level > 127 {
		level = 127
	}
	l.sum += 127 - int(level)
	l.n++
}

// remove forgets a participant.
func (d *speakerDetector) remove(id string) { delete(d.levels, id) }

// tick closes an interval and returns the speakers, loudest first, and
// whether the list differs from the previous tick's.
func (d *speakerDetector) tick(_ time.Time) ([]string, bool) {
	type cand struct {
		id string
		v  float64
	}
	var cands []cand
	min := float64(127 - d.p.threshold)
	for id, l := range d.levels {
		avg := 0.0
		if l.n > 0 {
			avg = float64(l.sum) / float64(l.n)
		}
		l.loudness = d.p.smoothing*avg + (1-d.p.smoothing)*l.loudness
		l.sum, l.n = 0, 0
		if l.loudness >= min {
			cands = append(cands, cand{id, l.loudness})
		}
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].v != cands[b].v {
			return cands[a].v > cands[b].v
		}
		return cands[a].id < cands[b].id
	})
	if len(cands) > d.p.max {
		cands = cands[:d.p.max]
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	if slices.Equal(ids, d.last) {
		return d.last, false
	}
	d.last = ids
	return ids, true
}
