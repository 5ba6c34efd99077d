package sfu

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// Which of the room's tracks a subscriber receives. Two things narrow
// "everything" down:
//
//   - Selective subscription. A participant that joined with
//     ManualSubscribe receives nothing until it asks (Subscribe); any
//     participant may also turn single participants or tracks off. A track
//     nobody receives has no down-track, so dynacast pauses it at its
//     publisher and a trunk stops carrying it (audio included: a remote
//     track fed by a trunk is wanted only while someone receives it).
//   - Backup codecs. A publisher may send one camera in two codecs, say
//     AV1 and VP8 (TrackParams.BackupFor links the second to the first).
//     Each subscriber receives one of them: the primary when it decodes it
//     (ParticipantParams.Codecs, or without them the codecs its answers
//     accept, backup_answer.go), else the first backup it decodes. The
//     backup keeps the primary's ID towards the subscriber, and nothing is
//     transcoded. A backup nobody receives is paused by dynacast.
//
// The rules are kept on the subscribing participant; subscriber.syncOwner
// brings its down-tracks in line with them whenever a rule, a track or a
// participant changes.

// maxSubscriptionRules bounds the rules one participant may set.
const maxSubscriptionRules = 4096

// ErrTooManyRules refuses a subscription rule beyond maxSubscriptionRules.
var ErrTooManyRules = errors.New("sfu: too many subscription rules")

// subscription is a participant's rules; guarded by Participant.mu.
type subscription struct {
	manual bool     // receive only what is asked for
	codecs []string // lower-case video MIME subtypes the client decodes; nil: any
	// learned: the video codecs the client's last answer accepted in every
	// video section (backup_answer.go); nil before any. refused: tracks the
	// subscriber connection could not carry.
	learned []string
	refused map[*Receiver]bool
	byPart  map[string]bool
	byTrk   map[string]bool
}

// Subscribe turns receiving another participant's tracks on or off; with
// a track ID, one track only (a track's rule wins over its participant's).
// Rules may name participants and tracks that are not there yet. It takes
// effect at once: down-tracks are added or removed and the subscriber
// connection renegotiated.
func (p *Participant) Subscribe(participantID, trackID string, on bool) error {
	if p.sub == nil {
		return ErrForbidden
	}
	p.mu.Lock()
	rules, key := &p.subs.byPart, participantID
	if trackID != "" {
		rules, key = &p.subs.byTrk, trackID
	}
	if *rules == nil {
		*rules = map[string]bool{}
	}
	if _, ok := (*rules)[key]; !ok && len(*rules) >= maxSubscriptionRules {
		p.mu.Unlock()
		return ErrTooManyRules
	}
	(*rules)[key] = on
	p.mu.Unlock()
	for _, o := range p.room.Participants() {
		if o != p && (o.id == participantID || trackID != "") {
			p.sub.syncOwner(o)
		}
	}
	p.room.kick()
	return nil
}

// subscribes reports whether p's rules let it receive track group g (a
// primary track's ID) of participant owner.
func (p *Participant) subscribes(owner, g string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on, ok := p.subs.byTrk[g]; ok {
		return on
	}
	if on, ok := p.subs.byPart[owner]; ok {
		return on
	}
	return !p.subs.manual
}

// decodes reports whether p's client decodes r's codec: the declared list
// decides, narrowed by what its answers accepted (backup_answer.go); with
// neither, everything; a track its connection refused, never.
func (p *Participant) decodes(r *Receiver) bool {
	if r.kind != webrtc.RTPCodecTypeVideo {
		return true
	}
	c := strings.ToLower(MimeSubtype(r.codec.MimeType))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs.refused[r] || (p.subs.codecs != nil && !slices.Contains(p.subs.codecs, c)) {
		return false
	}
	return p.subs.learned == nil || slices.Contains(p.subs.learned, c)
}

// picks chooses, of one owner's tracks, those p receives: per group (a
// primary and its backups) the primary if p decodes it, else the first
// backup it decodes, and nothing for a group p does not subscribe to.
// none lists the subscribed groups p decodes no member of.
func (p *Participant) picks(tracks []*Receiver) (out map[*Receiver]bool, none map[string][]*Receiver) {
	out = map[*Receiver]bool{}
	var order []string
	groups := map[string][]*Receiver{}
	for _, r := range tracks {
		g := r.group()
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	for _, g := range order {
		rs := groups[g]
		if !p.subscribes(rs[0].owner.id, g) {
			continue
		}
		slices.SortStableFunc(rs, func(a, b *Receiver) int { return boolRank(a.backupFor != "") - boolRank(b.backupFor != "") })
		served := false
		for _, r := range rs {
			if served = p.decodes(r); served {
				out[r] = true
				break
			}
		}
		if !served {
			if none == nil {
				none = map[string][]*Receiver{}
			}
			none[g] = rs
		}
	}
	return out, none
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// syncOwner adds and removes down-tracks of o's tracks so that the
// subscriber receives exactly what its participant's rules pick.
//
// It reads o's tracks and the rules under syncMu, with the changes it
// makes: every publish, unpublish and rule change is followed by a sync,
// so the last sync sees the last change. Read outside (as before), a sync
// that read o's tracks just before o published another one could run
// after that publish's own sync and remove the new track's down-track,
// for good (TestSyncRacingPublish).
func (s *subscriber) syncOwner(o *Participant) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	tracks := o.Tracks()
	if s.syncRead != nil {
		s.syncRead()
	}
	want := map[*Receiver]bool{}
	var none map[string][]*Receiver
	if s.p.maySubscribe() {
		want, none = s.p.picks(tracks)
	}
	s.noteUnserved(o, none, time.Now())
	s.mu.Lock()
	var drop []*Receiver
	for r := range s.downs {
		if r.owner == o && !want[r] {
			drop = append(drop, r)
		}
	}
	s.mu.Unlock()
	for _, r := range drop {
		s.remove(r)
	}
	for _, r := range tracks {
		if want[r] {
			s.add(r)
		}
	}
}

// group is the ID that names r's track group towards subscribers: the
// primary's for a backup, its own otherwise.
func (r *Receiver) group() string {
	if r.backupFor != "" {
		return r.backupFor
	}
	return r.id
}

// BackupFor is the ID of the track this one is a backup codec of, or "".
func (r *Receiver) BackupFor() string { return r.backupFor }

// maxCodecs bounds the codecs a client may list.
const maxCodecs = 16

func newSubscription(pp ParticipantParams) subscription {
	s := subscription{manual: pp.ManualSubscribe}
	if pp.Codecs != nil {
		s.codecs = []string{}
		for _, c := range pp.Codecs[:min(len(pp.Codecs), maxCodecs)] {
			s.codecs = append(s.codecs, strings.ToLower(MimeSubtype(c)))
		}
	}
	return s
}

// remoteAudioLocked is dynacast for the audio of a remote participant (a
// trunk's mirror): the trunk carries it only while a down-track or a sink
// takes it, and stops pauseAfter after the last one went. It returns the
// new wanted set when it changed. (A browser's microphone is never paused:
// its audio costs little and must start without delay.)
func (r *Receiver) remoteAudioLocked(now time.Time, pauseAfter time.Duration) []bool {
	l := r.layers[0]
	switch {
	case len(*r.downs.Load()) > 0 || len(*r.sinks.Load()) > 0:
		l.unwantedSince = time.Time{}
		if l.paused {
			l.paused, l.resumedAt = false, now
			return []bool{true}
		}
	case l.paused:
	case l.unwantedSince.IsZero():
		l.unwantedSince = now
	case now.Sub(l.unwantedSince) >= pauseAfter:
		l.paused = true
		return []bool{false}
	}
	return nil
}

// PauseIfUnsubscribed pauses every layer of a track that no down-track or
// sink takes, as dynacast would after its delay, and returns the layers
// still wanted. A trunk calls it on a track it has just mirrored: a track
// nobody on this node subscribes to is then not carried at all, and the
// first subscriber resumes it through Upstream.SetLayersWanted.
func (r *Receiver) PauseIfUnsubscribed() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]bool, len(r.layers))
	none := len(*r.downs.Load()) == 0 && len(*r.sinks.Load()) == 0
	for i, l := range r.layers {
		if none {
			l.paused, l.unwantedSince = true, time.Time{}
		}
		out[i] = !l.paused
	}
	return out
}
