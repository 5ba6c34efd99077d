package sfu

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// What a subscriber decodes, read from its answers. A client may declare
// the video codecs it decodes (ParticipantParams.Codecs); one that does not
// (a client other than qrtn.js speaking our signaling, a browser without
// VP9 or AV1) still tells, in every answer to the node's subscriber offer:
// each video section lists the codecs the client accepts there, out of all
// the node offered. Before the answer is applied:
//
//   - The codecs accepted in every live video section become the
//     participant's learned set (Participant.decodes): without a declared
//     list it decides alone, with one it can only take a codec away (the
//     connection cannot carry a codec the answer lacks). When the set
//     changes, every owner's tracks are picked again, so a subscriber whose
//     answer lacks the primary codec moves to the backup (and back when a
//     later answer has the primary again).
//   - A down-track whose own section cannot carry its codec (matchCodec:
//     an H.264 profile or packetization mode the client lacks, a section
//     the client rejected) is removed and its receiver refused on this
//     connection, so that the pick falls to a backup. pion would otherwise
//     fail the whole answer on it (RTPSender.Send returns the Bind error
//     and the senders after it never start) or, since its codec list is
//     the union of all sections, send a codec this section never
//     negotiated: a black tile either way.
//
// A track group with nothing the subscriber can receive for unservedGrace
// is reported once (CodecUnsupported, and a log line): the client is told
// instead of left with a tile that never shows video.

// answerVideo reads the video sections of an answer: each section's
// codecs by mid (none for a rejected section), and the codec names (lower
// case MIME subtypes, repair formats left out) accepted in every live
// section, nil when there is none.
func answerVideo(s *sdp.SessionDescription) (byMid map[string][]webrtc.RTPCodecParameters, common []string) {
	byMid = map[string][]webrtc.RTPCodecParameters{}
	live := 0
	for _, md := range s.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		if mid == "" || len(byMid) >= maxAnswerSections {
			continue
		}
		if md.MediaName.Port.Value == 0 {
			byMid[mid] = nil
			continue
		}
		codecs := sectionCodecs(md)
		byMid[mid] = codecs
		var names []string
		for _, c := range codecs {
			n := strings.ToLower(MimeSubtype(c.MimeType))
			if !slices.Contains(repairFormats, n) && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if live == 0 {
			common = names
		} else {
			common = slices.DeleteFunc(common, func(n string) bool { return !slices.Contains(names, n) })
		}
		live++
	}
	if live > 0 && common == nil {
		common = []string{}
	}
	return byMid, common
}

// maxAnswerSections bounds the video sections read from one answer.
const maxAnswerSections = 1024

// repairFormats are the payload formats that carry no picture of their own.
var repairFormats = []string{"rtx", "red", "ulpfec", "flexfec-03"}

// sectionCodecs lists a media section's codecs from its rtpmap and fmtp
// lines, in the section's order.
func sectionCodecs(md *sdp.MediaDescription) []webrtc.RTPCodecParameters {
	fmtp := map[string]string{}
	for _, a := range md.Attributes {
		if a.Key == "fmtp" {
			if pt, line, ok := strings.Cut(a.Value, " "); ok {
				fmtp[pt] = line
			}
		}
	}
	var out []webrtc.RTPCodecParameters
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" || len(out) >= maxCodecs*4 {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		n, err := strconv.ParseUint(pt, 10, 7)
		name, clock, _ := strings.Cut(enc, "/")
		rate, cerr := strconv.ParseUint(clock, 10, 32)
		if !ok || err != nil || name == "" || cerr != nil {
			continue
		}
		out = append(out, webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(n),
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/" + name, ClockRate: uint32(rate), SDPFmtpLine: fmtp[pt]}})
	}
	return out
}

// learnCodecs records the codecs read from an answer (nil: the answer had
// no live video section, nothing is learned) and reports whether the set
// the participant is picked by changed. A change forgets refused tracks:
// they are tried again against the new set.
func (p *Participant) learnCodecs(common []string) bool {
	if common == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs.learned != nil && slices.Equal(p.subs.learned, common) {
		return false
	}
	p.subs.learned = common
	p.subs.refused = nil
	return true
}

// refuse marks r as one this participant's connection cannot carry.
func (p *Participant) refuse(r *Receiver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs.refused == nil {
		p.subs.refused = map[*Receiver]bool{}
	}
	for o := range p.subs.refused {
		if o.closed.Load() {
			delete(p.subs.refused, o)
		}
	}
	p.subs.refused[r] = true
}

// decodeList is what p is taken to decode, for messages: the declared
// list narrowed by the learned one; nil when unknown.
func (p *Participant) decodeList() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.subs.codecs
	if out == nil {
		return slices.Clone(p.subs.learned)
	}
	if p.subs.learned != nil {
		out = slices.DeleteFunc(slices.Clone(out), func(c string) bool { return !slices.Contains(p.subs.learned, c) })
	}
	return slices.Clone(out)
}

// beforeAnswer reads an answer to the outstanding offer before it is
// applied: it learns the codecs, picks again when they changed, and
// removes the down-tracks the answer cannot carry. Removing and adding
// tracks now only marks the connection for another offer (negotiate folds
// it while this one is out).
func (s *subscriber) beforeAnswer(answer string) {
	s.negMu.Lock()
	out := s.offering && !s.closed
	s.negMu.Unlock()
	var parsed sdp.SessionDescription
	if !out || parsed.UnmarshalString(answer) != nil {
		return // handleAnswer refuses it
	}
	byMid, common := answerVideo(&parsed)
	if s.p.learnCodecs(common) {
		s.p.log.Debug("subscriber decodes", "codecs", common)
		s.syncAll()
	}
	for _, r := range s.uncarried(byMid) {
		s.p.log.Warn("subscriber answer cannot carry a track", "publisher", r.owner.id, "track", r.id, "codec", r.codec.MimeType)
		s.p.refuse(r)
		s.remove(r)
		s.syncOwner(r.owner)
	}
}

// uncarried lists the video receivers whose down-track's section in the
// answer has no codec that can carry them.
func (s *subscriber) uncarried(byMid map[string][]webrtc.RTPCodecParameters) []*Receiver {
	mids := map[*webrtc.RTPSender]string{}
	for _, t := range s.pc.GetTransceivers() {
		if snd := t.Sender(); snd != nil && t.Mid() != "" {
			mids[snd] = t.Mid()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Receiver
	for r, d := range s.downs {
		if r.kind != webrtc.RTPCodecTypeVideo || d.sender == nil {
			continue
		}
		codecs, ok := byMid[mids[d.sender]]
		if !ok {
			continue // not in this answer: negotiated next time
		}
		if _, carried := matchCodec(codecs, r.codec); !carried {
			out = append(out, r)
		}
	}
	return out
}

// syncAll picks every other participant's tracks again.
func (s *subscriber) syncAll() {
	for _, o := range s.p.room.Participants() {
		if o != s.p {
			s.syncOwner(o)
		}
	}
	s.p.room.kick()
}

// unservedKey names a track group a subscriber may be told it cannot
// receive.
type unservedKey struct {
	owner *Participant
	group string
}

// unserved is one such group: since when, whether the client was told.
type unserved struct {
	since  time.Time
	told   bool
	codecs []string
}

// unservedGrace is how long a group stays unreceivable before the client
// is told: a backup published a moment after its primary (a browser's two
// transceivers, a trunk mirroring them one by one) is no reason to.
const unservedGrace = 2 * time.Second

// noteUnserved records the groups of o the subscriber subscribes to but can
// receive in no codec (none: the members of each), and forgets o's groups
// served again or gone. syncMu is held.
func (s *subscriber) noteUnserved(o *Participant, none map[string][]*Receiver, now time.Time) {
	s.unservedMu.Lock()
	defer s.unservedMu.Unlock()
	for k := range s.unserved {
		if k.owner.closing.Load() || (k.owner == o && none[k.group] == nil) {
			delete(s.unserved, k)
		}
	}
	for g, rs := range none {
		k := unservedKey{o, g}
		if s.unserved[k] != nil || o.backupAwaited(g, rs) {
			continue
		}
		if s.unserved == nil {
			s.unserved = map[unservedKey]*unserved{}
		}
		u := &unserved{since: now}
		for _, r := range rs {
			u.codecs = append(u.codecs, MimeSubtype(r.codec.MimeType))
		}
		s.unserved[k] = u
	}
}

// tellUnserved tells the client, once, of each group unreceivable for
// unservedGrace (CodecUnsupported, and a log line). The room loop calls it.
func (s *subscriber) tellUnserved(now time.Time) {
	s.unservedMu.Lock()
	defer s.unservedMu.Unlock()
	for k, u := range s.unserved {
		if u.told || now.Sub(u.since) < unservedGrace {
			continue
		}
		u.told = true
		decodes := s.p.decodeList()
		s.p.log.Warn("no codec of a track the subscriber decodes", "publisher", k.owner.id, "track", k.group, "codecs", u.codecs, "decodes", decodes)
		s.p.emit(CodecUnsupported{ParticipantID: k.owner.id, TrackID: k.group, Codecs: u.codecs, Decodes: decodes})
	}
}

// backupAwaited reports whether o declared a backup transceiver of its
// track g (one of group rs) that is not published yet: a browser's primary
// and backup arrive from one offer, a moment apart, and the backup's
// publish picks again.
func (o *Participant) backupAwaited(g string, rs []*Receiver) bool {
	o.mu.Lock()
	pub := o.pub
	o.mu.Unlock()
	if pub == nil || slices.ContainsFunc(rs, func(r *Receiver) bool { return r.backupFor != "" }) {
		return false
	}
	pub.mu.Lock()
	primary := ""
	for mid, id := range pub.ids {
		if id == g {
			primary = mid
		}
	}
	pub.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, pm := range o.ext.backups {
		if primary != "" && pm == primary {
			return true
		}
	}
	return false
}
