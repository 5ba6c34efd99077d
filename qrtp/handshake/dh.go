package handshake

import (
	"bytes"
	"crypto/ecdh"
	"fmt"
	"io"

	"github.com/flynn/noise"
)

// x25519 is Noise's "25519" DH function computed with crypto/ecdh, keeping
// the parsed private keys of one handshake. flynn/noise's DH25519 goes
// through x/crypto's X25519, which parses the private key anew on every
// call, and parsing derives the public key: a second scalar multiplication
// per DH. Keeping the static and the ephemeral key parsed halves the cost of
// a handshake and of every message 1 a flood can send. The arithmetic is
// crypto/ecdh's either way, and so is the refusal of low-order points.
type x25519 struct {
	keys []parsedKey // the static key, then the ephemeral one
}

type parsedKey struct {
	raw    PrivateKey
	parsed *ecdh.PrivateKey
}

var _ noise.DHFunc = (*x25519)(nil)

// newSuite returns the cipher suite for one handshake whose static key is
// already parsed.
func newSuite(static parsedKey) noise.CipherSuite {
	return noise.NewCipherSuite(&x25519{keys: []parsedKey{static}}, noise.CipherAESGCM, noise.HashSHA256)
}

func parsePrivate(p PrivateKey) *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(p[:])
	if err != nil {
		panic("handshake: X25519 rejected a 32-byte private key: " + err.Error()) // cannot happen
	}
	return k
}

// GenerateKeypair reads the private key from rng itself: crypto/ecdh's
// GenerateKey ignores its reader since Go 1.26, and the Initiator depends
// on replaying the same ephemeral key from the same bytes.
func (d *x25519) GenerateKeypair(rng io.Reader) (noise.DHKey, error) {
	var raw PrivateKey
	if _, err := io.ReadFull(orCryptoRand(rng), raw[:]); err != nil {
		return noise.DHKey{}, fmt.Errorf("handshake: ephemeral key: %w", err)
	}
	k := parsedKey{raw: raw, parsed: parsePrivate(raw)}
	d.keys = append(d.keys, k)
	return noise.DHKey{Private: raw[:], Public: k.parsed.PublicKey().Bytes()}, nil
}

func (d *x25519) DH(private, public []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(public)
	if err != nil {
		return nil, err
	}
	return d.private(private).ECDH(pub) // errors on a low-order public key
}

// private finds the parsed form of a private key this handshake holds.
func (d *x25519) private(raw []byte) *ecdh.PrivateKey {
	for _, k := range d.keys {
		if bytes.Equal(k.raw[:], raw) {
			return k.parsed
		}
	}
	var p PrivateKey
	copy(p[:], raw) // not reached in IK; correct anyway, just slower
	return parsePrivate(p)
}

func (d *x25519) DHLen() int     { return KeySize }
func (d *x25519) DHName() string { return "25519" }
