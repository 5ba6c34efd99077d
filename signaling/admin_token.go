package signaling

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrNotAdmin is returned by VerifyAdmin for a valid token that lacks the
// admin grant (a participant's token).
var ErrNotAdmin = errors.New("signaling: not an admin token")

// adminSubject is the sub of admin tokens that name no operator.
const adminSubject = "admin"

// MintAdminToken signs an operator's token for the room API: HS256 with
// the API key in the kid, claims {sub, admin: true}, valid from now for
// ttl. It joins no room. operator names who acts (for logs); empty means
// "admin".
func MintAdminToken(apiKey, apiSecret, operator string, ttl time.Duration, now time.Time) (string, error) {
	if apiSecret == "" || ttl <= 0 {
		return "", errors.New("signaling: minting needs a secret and a positive ttl")
	}
	if operator == "" {
		operator = adminSubject
	}
	if len(operator) > maxField {
		return "", fmt.Errorf("%w: operator over %d bytes", ErrBadToken, maxField)
	}
	c := claims{Admin: true, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   operator,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = apiKey
	return t.SignedString([]byte(apiSecret))
}

// VerifyAdmin checks an admin token at time now and returns its operator
// (sub). A bad, expired or foreign token is ErrBadToken; a valid token
// without the admin grant is ErrNotAdmin.
func (v *Verifier) VerifyAdmin(token string, now time.Time) (string, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != v.key {
			return nil, errors.New("unknown kid")
		}
		return v.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	if !c.Admin {
		return "", ErrNotAdmin
	}
	return c.Subject, nil
}
