package handshake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

const (
	// SealOverhead is the number of bytes Seal adds (the AES-GCM tag).
	SealOverhead = 16

	// MaxPacketsPerKey is how many packets one packet key may seal. AES-GCM's
	// confidentiality bound depends on the total number of 16-byte blocks
	// encrypted under one key; RFC 9001 (Appendix B.1.1) reduces it, for an
	// attacker advantage of 2^-57, to packets × blocks-per-packet ≤ 2^35.
	// Our datagrams stay under 2048 bytes (2^7 blocks), hence 2^28 packets:
	// about 50 minutes of 1400-byte packets at 1 Gbit/s. Before a sender
	// reaches it, both sides move to Next keys (or a new handshake).
	MaxPacketsPerKey = 1 << 28

	nonceSize = 12
)

// SessionKeys is what a completed handshake yields: one packet key per
// direction, from Noise's Split, and the handshake hash (a value unique
// to this session, usable as a channel binding).
type SessionKeys struct {
	Send          *Sealer
	Recv          *Opener
	HandshakeHash []byte
}

func newSessionKeys(send, recv [32]byte, hash []byte) SessionKeys {
	return SessionKeys{
		Send:          &Sealer{p: newPacketAEAD(send)},
		Recv:          &Opener{p: newPacketAEAD(recv)},
		HandshakeHash: append([]byte(nil), hash...),
	}
}

// packetAEAD is stdlib AES-256-GCM keyed with a Noise split key. The nonce
// is the packet number, explicit: packets arrive out of order and lost,
// so the implicit counter of a Noise CipherState cannot be used. Noise's
// own CipherState for this key is never used, so no nonce is used twice.
type packetAEAD struct {
	aead cipher.AEAD
	key  [32]byte
	// nonce is scratch space kept in the struct: a nonce on the stack
	// would escape through the cipher.AEAD interface call and cost one
	// allocation per packet. It is why Sealer and Opener are not safe for
	// concurrent use.
	nonce [nonceSize]byte
}

func newPacketAEAD(key [32]byte) packetAEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(fmt.Sprintf("handshake: aes with a 32-byte key: %v", err)) // cannot happen
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("handshake: gcm over aes: %v", err)) // cannot happen
	}
	return packetAEAD{aead: aead, key: key}
}

// setNonce writes pn as the nonce: four zero bytes then the packet number
// big-endian, the layout Noise uses for AES-GCM.
func (p *packetAEAD) setNonce(pn uint64) []byte {
	binary.BigEndian.PutUint64(p.nonce[4:], pn)
	return p.nonce[:]
}

// next derives the following key generation with HKDF-Expand, in the
// manner of QUIC's key update: each side derives it alone, and the old key
// cannot be computed from the new one.
func (p *packetAEAD) next() packetAEAD {
	k, err := hkdf.Expand(sha256.New, p.key[:], "qrtp key update", 32)
	if err != nil {
		panic(fmt.Sprintf("handshake: hkdf expand of 32 bytes: %v", err)) // cannot happen
	}
	var key [32]byte
	copy(key[:], k)
	return newPacketAEAD(key)
}

// Sealer protects outgoing short-header packets. Not safe for concurrent
// use.
type Sealer struct{ p packetAEAD }

// Seal appends the encryption of plaintext and its tag to dst and returns
// the result. header (the short header) is authenticated but not
// encrypted. pn is the packet number, used as the nonce: the caller must
// never seal two packets with the same pn under one key, and must move to
// Next before MaxPacketsPerKey. It does not allocate when dst has room for
// len(plaintext)+SealOverhead more bytes. dst may be plaintext[:0] to seal
// in place.
func (s *Sealer) Seal(dst, header, plaintext []byte, pn uint64) []byte {
	return s.p.aead.Seal(dst, s.p.setNonce(pn), plaintext, header)
}

// Overhead is the number of bytes Seal adds (SealOverhead).
func (s *Sealer) Overhead() int { return s.p.aead.Overhead() }

// Next returns the sealer of the next key generation (key update). The
// peer's Opener.Next yields the matching opener.
func (s *Sealer) Next() *Sealer { return &Sealer{p: s.p.next()} }

// Opener authenticates and decrypts incoming short-header packets. Not
// safe for concurrent use.
type Opener struct{ p packetAEAD }

// Open checks ciphertext (sealed frames plus tag) against header and pn,
// and appends the plaintext to dst. Any mismatch (a changed bit in header
// or body, another pn, another key) gives ErrDecrypt and leaves dst's
// contents undefined past len(dst). It does not allocate when dst has room.
// dst may be ciphertext[:0] to open in place. Open does not detect
// duplicates: check a ReplayWindow first and Mark it after success.
func (o *Opener) Open(dst, header, ciphertext []byte, pn uint64) ([]byte, error) {
	out, err := o.p.aead.Open(dst, o.p.setNonce(pn), ciphertext, header)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// Overhead is the number of bytes Open removes (SealOverhead).
func (o *Opener) Overhead() int { return o.p.aead.Overhead() }

// Next returns the opener of the next key generation (key update).
func (o *Opener) Next() *Opener { return &Opener{p: o.p.next()} }
