// Package sla computes the talk's service-level figures from quality
// records: stalls from a client's progress series (Detector), stall
// compliance over participant-minutes, join time and end-to-end latency
// per call, node, region pair and hour (Aggregate).
//
// It is pure: times are unix milliseconds passed in, and it knows no
// database, network or clock.
package sla

// The talk's stall definitions.
const (
	// VideoStallMs: video not rendered for this long is a stall.
	VideoStallMs = 600
	// AudioStallMs: audio not rendered (concealed) for this long is a stall.
	AudioStallMs = 200
	// concealedShare: a sampling step counts towards an audio stall when
	// at least this share of the audio it played was concealment.
	concealedShare = 0.5
)

// Point is one sample of a track's progress. For video V is the frames
// decoded so far; for audio V is the audio played and C the audio
// concealed so far, in ms. Off marks a sample taken while the track was not
// expected to play (muted, paused, hidden): it breaks the series.
type Point struct {
	At   int64
	V, C float64
	Off  bool
}

// Stall is a detected stall: when it began and how long it lasted.
type Stall struct {
	At         int64
	DurationMs int
}

// Detector finds the stalls of one received track from its progress
// points, fed in time order across reports. The zero value is not ready:
// use NewDetector.
type Detector struct {
	video bool
	prev  Point
	have  bool // prev holds a point of the current run

	// video: the midpoint of the step that last showed progress; progress
	// says a frame was seen since the series began or broke.
	lastProg   float64
	progressed bool

	// audio: the current run of concealed steps.
	runAt        int64
	runConcealed float64
}

// NewDetector returns a detector for a track of kind "audio" or "video".
func NewDetector(kind string) *Detector { return &Detector{video: kind == "video"} }

// Feed takes the next point and returns a stall that ended with it, if
// any. Points out of time order, or whose counters went backwards (a new
// receiver), restart the series.
func (d *Detector) Feed(p Point) (Stall, bool) {
	if p.Off || p.V < 0 {
		d.reset()
		return Stall{}, false
	}
	if !d.have || p.At <= d.prev.At || p.V < d.prev.V || p.C < d.prev.C {
		d.reset()
		d.prev, d.have = p, true
		return Stall{}, false
	}
	defer func() { d.prev = p }()
	if d.video {
		return d.feedVideo(p)
	}
	return d.feedAudio(p)
}

func (d *Detector) reset() {
	d.have, d.progressed = false, false
	d.runConcealed = 0
}

// feedVideo: a frame was decoded somewhere in the step (prev.At, p.At]
// when V grew; the gap between two frames is estimated from the
// midpoints of the steps that showed them, so it is off by at most one
// step either way.
func (d *Detector) feedVideo(p Point) (Stall, bool) {
	if p.V == d.prev.V {
		return Stall{}, false
	}
	mid := float64(d.prev.At+p.At) / 2
	prevProg, had := d.lastProg, d.progressed
	d.lastProg, d.progressed = mid, true
	if !had {
		return Stall{}, false
	}
	if gap := mid - prevProg; gap >= VideoStallMs {
		return Stall{At: int64(prevProg), DurationMs: int(gap)}, true
	}
	return Stall{}, false
}

// feedAudio: a step whose played audio was mostly concealment extends the
// current run; the run is a stall when its concealed audio reaches the
// threshold. A step that played nothing breaks the series: nothing was
// expected to play.
func (d *Detector) feedAudio(p Point) (Stall, bool) {
	played, concealed := p.V-d.prev.V, p.C-d.prev.C
	if played <= 0 {
		s, ok := d.endRun()
		d.reset()
		d.prev, d.have = p, true
		return s, ok
	}
	if concealed >= concealedShare*played {
		if d.runConcealed == 0 {
			d.runAt = d.prev.At
		}
		d.runConcealed += concealed
		return Stall{}, false
	}
	return d.endRun()
}

func (d *Detector) endRun() (Stall, bool) {
	c := d.runConcealed
	d.runConcealed = 0
	if c >= AudioStallMs {
		return Stall{At: d.runAt, DurationMs: int(c)}, true
	}
	return Stall{}, false
}

// Flush ends the series (the track ended or the client stopped reporting
// it) and returns an audio stall still running, if it already counts.
// A video freeze still running when a track ends is not counted: a
// publisher leaving stops its video before its track is gone.
func (d *Detector) Flush() (Stall, bool) {
	var s Stall
	ok := false
	if !d.video {
		s, ok = d.endRun()
	}
	d.reset()
	return s, ok
}
