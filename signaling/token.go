package signaling

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrBadToken is returned for a missing, malformed, badly signed, expired
// or incomplete token.
var ErrBadToken = errors.New("signaling: bad token")

// maxField bounds identities, names and room names taken from tokens.
const maxField = 128

// Grant is what a token allows: one identity in one room.
type Grant struct {
	Identity  string // sub: unique in the room
	Name      string // display name; defaults to Identity
	Room      string
	Publish   bool
	Subscribe bool
}

// claims is the JWT body described in PROTOCOL.md.
type claims struct {
	Name      string `json:"name,omitempty"`
	Room      string `json:"room,omitempty"`
	Publish   bool   `json:"publish,omitempty"`
	Subscribe bool   `json:"subscribe,omitempty"`
	// Admin marks an operator's token for the room API (admin_token.go).
	Admin bool `json:"admin,omitempty"`
	jwt.RegisteredClaims
}

// MintToken signs a token for g with the API key and secret (HS256, the
// key in the header's kid), valid from now for ttl.
func MintToken(apiKey, apiSecret string, g Grant, ttl time.Duration, now time.Time) (string, error) {
	if err := checkGrant(g); err != nil {
		return "", err
	}
	if apiSecret == "" || ttl <= 0 {
		return "", errors.New("signaling: minting needs a secret and a positive ttl")
	}
	c := claims{Name: g.Name, Room: g.Room, Publish: g.Publish, Subscribe: g.Subscribe,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   g.Identity,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		}}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = apiKey
	return t.SignedString([]byte(apiSecret))
}

func checkGrant(g Grant) error {
	switch {
	case g.Identity == "" || len(g.Identity) > maxField:
		return fmt.Errorf("%w: identity must be 1..%d bytes", ErrBadToken, maxField)
	case g.Room == "" || len(g.Room) > maxField:
		return fmt.Errorf("%w: room must be 1..%d bytes", ErrBadToken, maxField)
	case len(g.Name) > maxField:
		return fmt.Errorf("%w: name over %d bytes", ErrBadToken, maxField)
	}
	return nil
}

// Verifier checks tokens signed with one API key and secret.
type Verifier struct {
	key    string
	secret []byte
}

// NewVerifier returns a verifier for tokens minted with key and secret.
func NewVerifier(apiKey, apiSecret string) (*Verifier, error) {
	if apiKey == "" || apiSecret == "" {
		return nil, errors.New("signaling: api key and secret are required")
	}
	return &Verifier{key: apiKey, secret: []byte(apiSecret)}, nil
}

// Verify parses and checks a token at time now.
func (v *Verifier) Verify(token string, now time.Time) (Grant, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != v.key {
			return nil, errors.New("unknown kid")
		}
		return v.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return Grant{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	if c.Admin {
		return Grant{}, fmt.Errorf("%w: an admin token does not join rooms", ErrBadToken)
	}
	g := Grant{Identity: c.Subject, Name: c.Name, Room: c.Room, Publish: c.Publish, Subscribe: c.Subscribe}
	if g.Name == "" {
		g.Name = g.Identity
	}
	if err := checkGrant(g); err != nil {
		return Grant{}, err
	}
	return g, nil
}
