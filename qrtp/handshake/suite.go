package handshake

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/flynn/noise"
)

const (
	tagSize       = 16 // AEAD tag of the Noise cipher
	timestampSize = 8  // big-endian Unix nanoseconds in message 1's payload

	// InitOverhead is what message 1 adds around its 0-RTT payload: the
	// initiator's ephemeral key (32), its encrypted static key (32 + tag),
	// the timestamp (8) and the payload's tag.
	InitOverhead = KeySize + KeySize + tagSize + timestampSize + tagSize // 104

	// ResponseOverhead is what message 2 adds around its payload: the
	// responder's ephemeral key and the payload's tag.
	ResponseOverhead = KeySize + tagSize // 48

	// DefaultReplayWindow bounds how far a message 1 timestamp may be from
	// the responder's clock, in either direction.
	DefaultReplayWindow = 2 * time.Minute

	// DefaultMaxTracked bounds the replay table (one entry of about 100
	// bytes per initiator key seen within the window).
	DefaultMaxTracked = 65536
)

// Errors callers branch on. Every error returned by this package wraps one
// of these, or is a plain misuse error (ErrState, a too-long payload).
var (
	// ErrMalformed: the message is too short or otherwise cannot be a
	// handshake message of this protocol.
	ErrMalformed = errors.New("handshake: malformed message")
	// ErrDecrypt: authentication failed (wrong responder key, tampered or
	// forged bytes, wrong prologue, wrong packet key or number).
	ErrDecrypt = errors.New("handshake: decryption failed")
	// ErrReplay: message 1's timestamp is not newer than the last one
	// accepted from the same initiator key.
	ErrReplay = errors.New("handshake: replayed message")
	// ErrExpired: message 1's timestamp is outside ±ReplayWindow of the
	// responder's clock (or before ResponderConfig.NotBefore).
	ErrExpired = errors.New("handshake: timestamp outside the replay window")
	// ErrUnauthorized: ResponderConfig.Authorize refused the initiator key.
	ErrUnauthorized = errors.New("handshake: initiator key not authorized")
	// ErrBusy: the replay table is full of live entries; try again later
	// (the core answers with a Retry or drops).
	ErrBusy = errors.New("handshake: replay table full")
	// ErrState: a method was called out of order (WriteInit twice,
	// ReadResponse before WriteInit or after success, WriteResponse twice).
	ErrState = errors.New("handshake: call out of order")
)

// responsePSK turns message 2's prologue (its long header) into the value
// mixed by the psk2 token, which binds that header into message 2's
// authentication at no cost in bytes. The value is public: Noise's psk
// modes with a known psk are as strong as the base pattern, and here the
// token is used only as associated data for message 2. Noise has no other
// way to mix data into the transcript after message 1.
func responsePSK(prologue []byte) []byte {
	sum := sha256.Sum256(prologue)
	return sum[:]
}

// noiseConfig describes one side of Noise_IKpsk2_25519_AESGCM_SHA256 (the
// choice of AES-GCM over ChaChaPoly is explained, with measurements, in the
// package doc). static is local's private key, parsed once per Responder or
// Initiator.
func noiseConfig(initiator bool, local KeyPair, static parsedKey, remote *PublicKey, prologue []byte, rnd io.Reader) noise.Config {
	cfg := noise.Config{
		CipherSuite:           newSuite(static),
		Random:                rnd,
		Pattern:               noise.HandshakeIK,
		Initiator:             initiator,
		Prologue:              prologue,
		PresharedKeyPlacement: 2,
		StaticKeypair:         noise.DHKey{Private: local.Private[:], Public: local.Public[:]},
	}
	if remote != nil {
		cfg.PeerStatic = remote[:]
	}
	return cfg
}

func orCryptoRand(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
