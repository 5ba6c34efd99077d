package signaling

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Resume tokens let a client whose websocket dropped come back as the same
// participant (PROTOCOL.md, "Resume"). A token is a JWT (HS256) whose key
// is derived from the API secret for this use only, so that an access
// token is never a resume token nor the reverse. It names the session, its
// participant, room and node, and a generation: every successful resume
// starts a new generation, so a token works once. It lives ResumeTokenTTL
// and the node sends a fresh one before the last expires.

// Resume errors, mapped to the protocol's error codes.
var (
	// ErrBadResume: not a resume token of this node, or not this
	// session's current one (forged, foreign, superseded).
	ErrBadResume = errors.New("signaling: bad resume token")
	// ErrResumeExpired: the token expired, or the session is no longer
	// held (its grace period passed): the client must join again.
	ErrResumeExpired = errors.New("signaling: resume token expired or session gone")
)

// resumeClaims is a resume token's body.
type resumeClaims struct {
	Type    string `json:"typ"`
	Room    string `json:"room"`
	Session string `json:"sid"`
	Node    string `json:"node"`
	Gen     uint64 `json:"gen"`
	jwt.RegisteredClaims
}

const resumeType = "qrtn-resume"

// resumeKey derives the resume tokens' key from the API secret.
func resumeKey(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("qrtn resume token v1"))
	return m.Sum(nil)
}

// resumeGrant is what a valid resume token says.
type resumeGrant struct {
	identity, room, session, node string
	gen                           uint64
}

// mintResume signs a resume token valid from now for ttl.
func mintResume(key []byte, g resumeGrant, ttl time.Duration, now time.Time) string {
	c := resumeClaims{Type: resumeType, Room: g.room, Session: g.session, Node: g.node, Gen: g.gen,
		RegisteredClaims: jwt.RegisteredClaims{Subject: g.identity, ID: nonce(),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key) // HMAC signing cannot fail
	return s
}

// nonce makes every token distinct (two minted in one second would
// otherwise be equal).
func nonce() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// verifyResume checks a resume token's signature, type, node and expiry.
func verifyResume(key []byte, node, token string, now time.Time) (resumeGrant, error) {
	var c resumeClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return resumeGrant{}, fmt.Errorf("%w: the token expired", ErrResumeExpired)
	case err != nil:
		return resumeGrant{}, fmt.Errorf("%w: %w", ErrBadResume, err)
	case c.Type != resumeType || c.Session == "" || c.Subject == "":
		return resumeGrant{}, fmt.Errorf("%w: not a resume token", ErrBadResume)
	case c.Node != node:
		return resumeGrant{}, fmt.Errorf("%w: the token is for node %q, this is %q: join this node instead", ErrBadResume, c.Node, node)
	}
	return resumeGrant{identity: c.Subject, room: c.Room, session: c.Session, node: c.Node, gen: c.Gen}, nil
}
