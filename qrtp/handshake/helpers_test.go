package handshake

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"testing"
	"time"
)

// t0 is the instant netsim's virtual clock starts at.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seeded is a deterministic randomness source for reproducible tests.
func seeded(seed byte) *mrand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

func mustKeys(tb testing.TB, seed byte) KeyPair {
	tb.Helper()
	kp, err := GenerateKeyPair(seeded(seed))
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

var (
	prologue1 = []byte("long header of Init")
	prologue2 = []byte("long header of InitResponse")
)

// peers is an initiator and a responder that know each other.
type peers struct {
	ini, resp KeyPair
	responder *Responder
}

func newPeers(tb testing.TB, cfg ResponderConfig) *peers {
	tb.Helper()
	p := &peers{ini: mustKeys(tb, 1), resp: mustKeys(tb, 2)}
	cfg.Local = p.resp
	if cfg.Rand == nil {
		cfg.Rand = seeded(3)
	}
	p.responder = NewResponder(cfg)
	return p
}

// init writes a message 1 at now with the given payload.
func (p *peers) init(tb testing.TB, now time.Time, payload []byte) (*Initiator, []byte) {
	tb.Helper()
	i, err := NewInitiator(p.ini, p.resp.Public, seeded(byte(now.UnixNano())))
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := i.WriteInit(nil, now, prologue1, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return i, msg
}

func wantErr(tb testing.TB, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("error %v, want %v", err, want)
	}
}

// checkKeys verifies that a's Send reaches b's Recv and back.
func checkKeys(tb testing.TB, a, b SessionKeys) {
	tb.Helper()
	if !bytes.Equal(a.HandshakeHash, b.HandshakeHash) || len(a.HandshakeHash) != 32 {
		tb.Fatalf("handshake hashes differ: %x %x", a.HandshakeHash, b.HandshakeHash)
	}
	for _, dir := range []struct{ s, r SessionKeys }{{a, b}, {b, a}} {
		hdr, body := []byte{0x40, 1, 2, 3}, []byte("frames")
		ct := dir.s.Send.Seal(nil, hdr, body, 7)
		pt, err := dir.r.Recv.Open(nil, hdr, ct, 7)
		if err != nil || !bytes.Equal(pt, body) {
			tb.Fatalf("open: %v, %q", err, pt)
		}
	}
}

// complete runs a whole handshake at now and returns both sides' keys.
func (p *peers) complete(tb testing.TB, now time.Time) (ini, resp SessionKeys) {
	tb.Helper()
	i, msg1 := p.init(tb, now, nil)
	pending, err := p.responder.ReadInit(now, prologue1, msg1)
	if err != nil {
		tb.Fatal(err)
	}
	msg2, resp, err := pending.WriteResponse(nil, prologue2, nil)
	if err != nil {
		tb.Fatal(err)
	}
	_, ini, err = i.ReadResponse(prologue2, msg2)
	if err != nil {
		tb.Fatal(err)
	}
	return ini, resp
}

// sessionPair runs a full handshake between fresh peers.
func sessionPair(tb testing.TB) (ini, resp SessionKeys) {
	tb.Helper()
	return newPeers(tb, ResponderConfig{}).complete(tb, t0)
}
