package handshake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/flynn/noise"
)

type initiatorState uint8

const (
	initFresh initiatorState = iota // WriteInit not yet called
	initSent                        // waiting for message 2
	initDone                        // keys handed out; nothing more to do
)

// Initiator runs the initiator's side of one connection attempt: it writes
// message 1 once and reads message 2. Retransmitting message 1 means
// resending the same bytes; after a Retry (new cookie, new header) the core
// makes a fresh Initiator. Not safe for concurrent use.
type Initiator struct {
	local  KeyPair
	static parsedKey
	remote PublicKey
	rand   io.Reader
	state  initiatorState

	// hs is the live Noise state, or nil after a failed ReadResponse:
	// flynn/noise does not roll back every step of a failed read (a
	// low-order ephemeral fails a DH after the transcript has moved on),
	// so a forged message 2 must not poison the state for the genuine one.
	// The state is rebuilt from the inputs of message 1, which determine
	// it completely once the ephemeral key is fixed.
	hs        *noise.HandshakeState
	ephemeral [KeySize]byte
	prologue  []byte // message 1's prologue, kept for a rebuild
	plaintext []byte // timestamp ‖ 0-RTT payload, kept for a rebuild
}

// NewInitiator prepares a handshake from local to the responder whose
// static key is remote. rand supplies the ephemeral key (crypto/rand.Reader
// when nil).
func NewInitiator(local KeyPair, remote PublicKey, rand io.Reader) (*Initiator, error) {
	if remote.IsZero() {
		return nil, fmt.Errorf("%w: zero responder key", ErrBadKey)
	}
	static := parsedKey{raw: local.Private, parsed: parsePrivate(local.Private)}
	return &Initiator{local: local, static: static, remote: remote, rand: orCryptoRand(rand)}, nil
}

// WriteInit appends Noise IK message 1 to dst. prologue is the long header
// that precedes the message on the wire; it is bound into the handshake
// hash, so the responder must pass the same bytes. payload is the 0-RTT
// data; the message is len(payload)+InitOverhead bytes. The timestamp (now
// in Unix nanoseconds) is added here and checked by the responder.
func (i *Initiator) WriteInit(dst []byte, now time.Time, prologue, payload []byte) ([]byte, error) {
	if i.state != initFresh {
		return nil, ErrState
	}
	if len(payload)+InitOverhead > noise.MaxMsgLen {
		return nil, fmt.Errorf("handshake: 0-RTT payload of %d bytes exceeds %d", len(payload), noise.MaxMsgLen-InitOverhead)
	}
	if _, err := io.ReadFull(i.rand, i.ephemeral[:]); err != nil {
		return nil, fmt.Errorf("handshake: reading ephemeral randomness: %w", err)
	}
	i.prologue = append([]byte(nil), prologue...)
	i.plaintext = make([]byte, timestampSize, timestampSize+len(payload))
	binary.BigEndian.PutUint64(i.plaintext, uint64(now.UnixNano()))
	i.plaintext = append(i.plaintext, payload...)
	out, err := i.start(dst)
	if err != nil {
		return nil, err
	}
	i.state = initSent
	return out, nil
}

// start builds the Noise state and writes message 1 after dst. It is
// deterministic given i.ephemeral, which is what makes a rebuild exact.
func (i *Initiator) start(dst []byte) ([]byte, error) {
	cfg := noiseConfig(true, i.local, i.static, &i.remote, i.prologue, bytes.NewReader(i.ephemeral[:]))
	hs, err := noise.NewHandshakeState(cfg)
	if err != nil {
		return nil, fmt.Errorf("handshake: noise state: %w", err)
	}
	out, _, _, err := hs.WriteMessage(dst, i.plaintext)
	if err != nil {
		// The only failure left is a DH with a low-order responder key.
		return nil, fmt.Errorf("%w: responder key: %w", ErrBadKey, err)
	}
	i.hs = hs
	return out, nil
}

// ReadResponse consumes message 2. prologue is message 2's long header,
// bound into its authentication. It returns message 2's payload (the
// responder's 0.5-RTT data) and the session keys. After an error the
// Initiator still accepts the genuine message 2.
func (i *Initiator) ReadResponse(prologue, msg []byte) ([]byte, SessionKeys, error) {
	if i.state != initSent {
		return nil, SessionKeys{}, ErrState
	}
	if len(msg) < ResponseOverhead {
		return nil, SessionKeys{}, fmt.Errorf("%w: message 2 is %d bytes, shorter than %d", ErrMalformed, len(msg), ResponseOverhead)
	}
	if i.hs == nil {
		if _, err := i.start(nil); err != nil {
			return nil, SessionKeys{}, err
		}
	}
	if err := i.hs.SetPresharedKey(responsePSK(prologue)); err != nil {
		return nil, SessionKeys{}, fmt.Errorf("handshake: noise psk: %w", err)
	}
	payload, toResponder, toInitiator, err := i.hs.ReadMessage(nil, msg)
	if err != nil {
		i.hs = nil
		return nil, SessionKeys{}, fmt.Errorf("%w: message 2: %w", ErrDecrypt, err)
	}
	keys := newSessionKeys(toResponder.UnsafeKey(), toInitiator.UnsafeKey(), i.hs.ChannelBinding())
	i.finish()
	return payload, keys, nil
}

// finish drops the secrets the handshake no longer needs.
func (i *Initiator) finish() {
	i.state = initDone
	i.hs = nil
	clear(i.ephemeral[:])
	i.plaintext, i.prologue = nil, nil
}
