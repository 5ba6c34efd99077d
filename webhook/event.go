// Package webhook notifies operators' backends of what happens in a qrtn
// network: rooms started and finished, participants joined, left and
// moved, tracks published and unpublished, a node draining, a quality
// alert. Each event is POSTed as JSON to every configured URL, signed with
// an HMAC over its timestamp and body (Sign, Verify: README.md shows a
// receiver's check), at least once: a URL that fails is retried with
// exponential back-off until the event is older than the retry window,
// behind a bounded queue whose drops are counted. A slow or dead receiver
// never blocks the caller: Notify only queues.
//
// It knows HTTP and HMAC; it knows nothing of rooms or the SFU (the node
// builds the events) and decides nothing with the clock itself: the
// delivery decisions are in queue.go, which takes time as an argument.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event names.
const (
	RoomStarted          = "room_started"
	RoomFinished         = "room_finished"
	ParticipantJoined    = "participant_joined"
	ParticipantLeft      = "participant_left"
	ParticipantMoved     = "participant_moved"
	TrackPublished       = "track_published"
	TrackUnpublished     = "track_unpublished"
	NodeDraining         = "node_draining"
	QualityAlertReceived = "quality_alert"
)

// Event is one notification. ID is unique in the network: receivers
// deduplicate on it (delivery is at least once).
type Event struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	CreatedAt int64  `json:"created_at"` // unix milliseconds, when it happened
	// Node and Region are where it happened: the node that sends it.
	Node        string       `json:"node"`
	Region      string       `json:"region"`
	Room        *Room        `json:"room,omitempty"`
	Participant *Participant `json:"participant,omitempty"`
	Track       *Track       `json:"track,omitempty"`
	Alert       *Alert       `json:"alert,omitempty"`
}

// Room names a room.
type Room struct {
	Name string `json:"name"`
	Mode string `json:"mode,omitempty"`
}

// Participant names a participant; From is the node it moved from.
type Participant struct {
	Identity string `json:"identity"`
	Name     string `json:"name,omitempty"`
	From     string `json:"from,omitempty"`
}

// Track names a track.
type Track struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Mime string `json:"mime,omitempty"`
}

// Alert is a quality alert from the QoE platform.
type Alert struct {
	Kind    string  `json:"kind"`    // e.g. "stall_compliance", "trunk_loss"
	Subject string  `json:"subject"` // what it is about: a node, a trunk from→to, a participant
	Value   float64 `json:"value"`
	Limit   float64 `json:"limit"`
	Message string  `json:"message"`
}

// The headers of a delivery.
const (
	HeaderSignature = "X-Qrtn-Signature" // t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "t.body"))
	HeaderEventID   = "X-Qrtn-Event-Id"
	HeaderEvent     = "X-Qrtn-Event"
)

// Sign returns the signature header of a body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verification errors.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance (a replay?)")
)

// Verify checks a delivery as a receiver must: the signature header's HMAC
// over its timestamp and the exact body, and the timestamp within
// tolerance of now (5 minutes is usual). It returns the timestamp. A
// receiver also remembers event IDs for the tolerance, and drops an ID it
// has seen: that defeats a replay inside the window, and delivery is at
// least once anyway.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) (time.Time, error) {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return time.Time{}, fmt.Errorf("%w: malformed header", ErrBadSignature)
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return time.Time{}, ErrBadSignature
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return t, ErrStale
	}
	return t, nil
}
