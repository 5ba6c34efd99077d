package handshake

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/flynn/noise"
)

// ResponderConfig configures a Responder. The zero value of each field
// means its default.
type ResponderConfig struct {
	// Local is the responder's static key pair.
	Local KeyPair
	// ReplayWindow: message 1 timestamps further than this from the
	// responder's clock, in either direction, are ErrExpired. Default 2 min.
	// It must cover the clock skew between nodes plus the one-way delay.
	ReplayWindow time.Duration
	// MaxTracked bounds the replay table. When it is full of live entries a
	// new initiator key gets ErrBusy: evicting a live entry would reopen a
	// replay. Default 65536.
	MaxTracked int
	// Authorize decides whether an initiator key may connect; nil accepts
	// any key. It runs before the replay table is touched, so refused keys
	// cannot fill it.
	Authorize func(PublicKey) bool
	// Rand supplies the responder's ephemeral keys; nil means crypto/rand.
	Rand io.Reader
	// NotBefore, when set, makes timestamps earlier than it ErrExpired. Set
	// it to the time the process started: the replay table lives in memory,
	// and without this a message 1 captured before a restart could be
	// replayed once to the fresh table while still inside the window.
	NotBefore time.Time
}

// Responder authenticates message 1 and keeps the timestamp replay table.
// One per endpoint, long lived. Not safe for concurrent use.
type Responder struct {
	cfg    ResponderConfig
	static parsedKey
	table  replayTable
}

// NewResponder returns a Responder with cfg's defaults filled in.
func NewResponder(cfg ResponderConfig) *Responder {
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = DefaultMaxTracked
	}
	cfg.Rand = orCryptoRand(cfg.Rand)
	r := &Responder{cfg: cfg, static: parsedKey{raw: cfg.Local.Private, parsed: parsePrivate(cfg.Local.Private)}}
	r.table.init(cfg.ReplayWindow, cfg.MaxTracked, cfg.NotBefore)
	return r
}

// Public returns the responder's static public key (what a KeyResponse
// carries).
func (r *Responder) Public() PublicKey { return r.cfg.Local.Public }

// Tracked is the number of initiator keys in the replay table.
func (r *Responder) Tracked() int { return len(r.table.byKey) }

// ReadInit authenticates message 1 (msg, received after prologue, the long
// header) and, on success, records its timestamp. It costs two X25519
// operations before anything is known about the sender, which is why the
// core answers with a cookie (Retry) under load. Errors wrap ErrMalformed,
// ErrDecrypt, ErrUnauthorized, ErrExpired, ErrReplay or ErrBusy.
func (r *Responder) ReadInit(now time.Time, prologue, msg []byte) (*Pending, error) {
	if len(msg) < InitOverhead || len(msg) > noise.MaxMsgLen {
		return nil, fmt.Errorf("%w: message 1 is %d bytes, want %d..%d", ErrMalformed, len(msg), InitOverhead, noise.MaxMsgLen)
	}
	hs, err := noise.NewHandshakeState(noiseConfig(false, r.cfg.Local, r.static, nil, prologue, r.cfg.Rand))
	if err != nil {
		return nil, fmt.Errorf("handshake: noise state: %w", err)
	}
	plaintext, _, _, err := hs.ReadMessage(nil, msg)
	if err != nil {
		return nil, fmt.Errorf("%w: message 1: %w", ErrDecrypt, err)
	}
	// Authenticated from here on: ss proves the sender holds the private
	// half of the static key it claims.
	if len(plaintext) < timestampSize {
		return nil, fmt.Errorf("%w: message 1 payload lacks the timestamp", ErrMalformed)
	}
	var remote PublicKey
	copy(remote[:], hs.PeerStatic())
	if r.cfg.Authorize != nil && !r.cfg.Authorize(remote) {
		return nil, fmt.Errorf("%w: %s", ErrUnauthorized, remote)
	}
	ts := int64(binary.BigEndian.Uint64(plaintext))
	if err := r.table.admit(now, remote, ts); err != nil {
		return nil, err
	}
	return &Pending{hs: hs, remote: remote, payload: plaintext[timestampSize:]}, nil
}

// Pending is an authenticated message 1 waiting for its response.
type Pending struct {
	hs      *noise.HandshakeState // nil once the response is written
	remote  PublicKey
	payload []byte
}

// RemoteStatic is the initiator's authenticated static key.
func (p *Pending) RemoteStatic() PublicKey { return p.remote }

// Payload is message 1's 0-RTT data, timestamp stripped. It is
// authenticated and not a replay, so the core may act on it at once.
func (p *Pending) Payload() []byte { return p.payload }

// WriteResponse appends message 2 (len(payload)+ResponseOverhead bytes) to
// dst and returns the session keys. prologue is message 2's long header,
// bound into its authentication. Call it once; the core caches the bytes
// to answer a retransmitted message 1.
func (p *Pending) WriteResponse(dst, prologue, payload []byte) ([]byte, SessionKeys, error) {
	if p.hs == nil {
		return nil, SessionKeys{}, ErrState
	}
	if len(payload)+ResponseOverhead > noise.MaxMsgLen {
		return nil, SessionKeys{}, fmt.Errorf("handshake: response payload of %d bytes exceeds %d", len(payload), noise.MaxMsgLen-ResponseOverhead)
	}
	if err := p.hs.SetPresharedKey(responsePSK(prologue)); err != nil {
		return nil, SessionKeys{}, fmt.Errorf("handshake: noise psk: %w", err)
	}
	out, toResponder, toInitiator, err := p.hs.WriteMessage(dst, payload)
	if err != nil {
		return nil, SessionKeys{}, fmt.Errorf("handshake: message 2: %w", err)
	}
	keys := newSessionKeys(toInitiator.UnsafeKey(), toResponder.UnsafeKey(), p.hs.ChannelBinding())
	p.hs = nil
	return out, keys, nil
}
