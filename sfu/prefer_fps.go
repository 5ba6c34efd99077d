package sfu

import (
	"errors"
	"fmt"
)

// A subscriber may cap the frame rate it receives of another
// participant's video, or of one track (as LiveKit's setVideoFPS): a
// tile that shows a slide-like camera, or a phone saving battery. The
// cap picks the temporal layer (svc_temporal.go): the highest whose
// measured frame rate stays within it; the spatial layer still follows
// the view preference and the bandwidth estimate. It applies to tracks
// with temporal layers (VP9, AV1 SVC); others ignore it. The cap is kept
// apart from the view preference (Prefer), so a page that re-sends its
// view preferences leaves it as it was.

// MaxPreferFPS bounds a frame-rate preference.
const MaxPreferFPS = 240

// ErrBadFrameRate refuses a frame-rate preference out of range.
var ErrBadFrameRate = errors.New("sfu: frame rate preference out of range")

// maxFPSRules bounds the frame-rate preferences one participant keeps.
const maxFPSRules = 4096

// PreferFrameRate caps the frame rate of another participant's video
// (trackID empty) or of one of its tracks, in frames per second; 0 takes
// the cap off.
func (p *Participant) PreferFrameRate(participantID, trackID string, fps float64) error {
	if !(fps >= 0 && fps <= MaxPreferFPS) { // NaN too
		return fmt.Errorf("%w: %v (0 to %d)", ErrBadFrameRate, fps, MaxPreferFPS)
	}
	p.mu.Lock()
	m, key := &p.ext.fps, participantID
	if trackID != "" {
		m, key = &p.ext.trackFPS, trackID
	}
	if *m == nil {
		*m = map[string]float64{}
	}
	_, known := (*m)[key]
	switch {
	case fps == 0:
		delete(*m, key)
	case known || len(*m) < maxFPSRules:
		(*m)[key] = fps
	}
	p.mu.Unlock()
	p.room.kick()
	return nil
}

// frameRatePreference is the cap for r: the track's own, else its
// participant's; 0 for none.
func (p *Participant) frameRatePreference(r *Receiver) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.ext.trackFPS[r.group()]; ok {
		return f
	}
	return p.ext.fps[r.owner.id]
}
