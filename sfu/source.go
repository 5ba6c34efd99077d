package sfu

import "slices"

// Track sources: what a published track shows. A participant may publish
// a camera and a screen share at once; the source decides the layout
// (a screen share is the main view) and the layer policy.
const (
	SourceCamera      = "camera"
	SourceMicrophone  = "microphone"
	SourceScreen      = "screen"
	SourceScreenAudio = "screen_audio"
)

// isScreen reports whether a source is a screen share (video or audio).
func isScreen(s string) bool { return s == SourceScreen || s == SourceScreenAudio }

// ValidSource reports whether s names a track source.
func ValidSource(s string) bool {
	return slices.Contains([]string{SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio}, s)
}

// participantExt holds what a participant says about its own tracks and
// what it asks of others' tracks one by one, beyond the per-participant
// view preference. Guarded by Participant.mu.
type participantExt struct {
	// sources maps a publisher-connection mid to its track's source, as
	// the client declared it with its offer.
	sources map[string]string
	// trackPrefs are view preferences for single tracks; they take
	// precedence over the participant-wide preference.
	trackPrefs map[string]Quality
	// backups maps a publisher-connection mid that carries a backup codec
	// to the mid of its primary track (backup.go).
	backups map[string]string
	// fps and trackFPS are frame-rate caps (prefer_fps.go), by
	// participant and by track.
	fps, trackFPS map[string]float64
}

// maxSources bounds the declared sources of one participant.
const maxSources = 32

// SetSources records the sources of the publisher connection's tracks by
// mid, as declared with an offer; tracks already published keep theirs.
func (p *Participant) SetSources(byMid map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ext.sources == nil {
		p.ext.sources = map[string]string{}
	}
	for mid, s := range byMid {
		if ValidSource(s) && (len(p.ext.sources) < maxSources || p.ext.sources[mid] != "") {
			p.ext.sources[mid] = s
		}
	}
}

// sourceOf is the declared source of a publisher mid; without one, camera
// for video and microphone for audio.
func (p *Participant) sourceOf(mid string, video bool) string {
	p.mu.Lock()
	s := p.ext.sources[mid]
	p.mu.Unlock()
	switch {
	case s != "":
		return s
	case video:
		return SourceCamera
	}
	return SourceMicrophone
}

// PreferTrack sets the view preference for one track of another
// participant (a screen share shown large while the same participant's
// camera is a thumbnail).
func (p *Participant) PreferTrack(trackID string, q Quality) {
	p.mu.Lock()
	if p.ext.trackPrefs == nil {
		p.ext.trackPrefs = map[string]Quality{}
	}
	if _, ok := p.ext.trackPrefs[trackID]; ok || len(p.ext.trackPrefs) < 4096 {
		p.ext.trackPrefs[trackID] = q
	}
	p.mu.Unlock()
	p.room.kick()
}

// trackPreference is the view preference for r: the track's own, else a
// screen share's default (large: it is the main view), else the
// participant-wide one.
func (p *Participant) trackPreference(r *Receiver) Quality {
	p.mu.Lock()
	q, ok := p.ext.trackPrefs[r.group()]
	p.mu.Unlock()
	switch {
	case ok:
		return q
	case r.source == SourceScreen:
		return QualityLarge
	}
	return p.preference(r.owner.id)
}

// forgetTrackPreference drops a preference for a track that ended.
func (p *Participant) forgetTrackPreference(trackID string) {
	p.mu.Lock()
	delete(p.ext.trackPrefs, trackID)
	delete(p.ext.trackFPS, trackID)
	p.mu.Unlock()
}
