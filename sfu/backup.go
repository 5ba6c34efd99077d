package sfu

import "github.com/pion/webrtc/v4"

// Backup codecs, publisher side. A browser that publishes its camera in a
// codec some subscribers may not decode (AV1, VP9) also sends the same
// camera in VP8 on a second transceiver, and says so with its offer (mid
// of the backup → mid of the primary). The backup is published as a
// track of its own, linked to the primary (TrackParams.BackupFor);
// subscription.go gives each subscriber one of the two, and dynacast
// pauses the backup's encodings while nobody receives it.

// SetBackups records which publisher-connection mids carry a backup codec
// of another mid's track, as declared with an offer.
func (p *Participant) SetBackups(byMid map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ext.backups == nil {
		p.ext.backups = map[string]string{}
	}
	for mid, primary := range byMid {
		if mid != primary && (len(p.ext.backups) < maxSources || p.ext.backups[mid] != "") {
			p.ext.backups[mid] = primary
		}
	}
}

// trackIDLocked is the track ID of a mid: the one reserved for it when a
// backup named it first, else a new one. pub.mu is held.
func (pub *publisher) trackIDLocked(mid string) string {
	if pub.ids == nil {
		pub.ids = map[string]string{}
	}
	id := pub.ids[mid]
	if id == "" {
		id = newTrackID()
		pub.ids[mid] = id
	}
	return id
}

// backupForLocked is the primary's track ID when mid carries a backup
// video codec, else "". pub.mu is held.
func (pub *publisher) backupForLocked(mid string, kind webrtc.RTPCodecType) string {
	pub.p.mu.Lock()
	primary := pub.p.ext.backups[mid]
	pub.p.mu.Unlock()
	if primary == "" || kind != webrtc.RTPCodecTypeVideo {
		return ""
	}
	return pub.trackIDLocked(primary)
}
