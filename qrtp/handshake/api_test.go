package handshake

import (
	"io"
	"net/netip"
	"time"
)

// The surface agreed with the core (handshake-api.md), checked at compile
// time so a signature cannot drift unnoticed.
var (
	_ func(io.Reader) (KeyPair, error)                          = GenerateKeyPair
	_ func(string) (PublicKey, error)                           = ParsePublicKey
	_ func(string) (PrivateKey, error)                          = ParsePrivateKey
	_ func(PrivateKey) KeyPair                                  = KeyPairFromPrivate
	_ func(string, io.Reader) (KeyPair, error)                  = LoadOrCreateKeyPair
	_ func(KeyPair, PublicKey, io.Reader) (*Initiator, error)   = NewInitiator
	_ func([]byte, time.Time, []byte, []byte) ([]byte, error)   = (*Initiator)(nil).WriteInit
	_ func([]byte, []byte) ([]byte, SessionKeys, error)         = (*Initiator)(nil).ReadResponse
	_ func(ResponderConfig) *Responder                          = NewResponder
	_ func(time.Time, []byte, []byte) (*Pending, error)         = (*Responder)(nil).ReadInit
	_ func() PublicKey                                          = (*Responder)(nil).Public
	_ func() PublicKey                                          = (*Pending)(nil).RemoteStatic
	_ func() []byte                                             = (*Pending)(nil).Payload
	_ func([]byte, []byte, []byte) ([]byte, SessionKeys, error) = (*Pending)(nil).WriteResponse
	_ func([]byte, []byte, []byte, uint64) []byte               = (*Sealer)(nil).Seal
	_ func() int                                                = (*Sealer)(nil).Overhead
	_ func([]byte, []byte, []byte, uint64) ([]byte, error)      = (*Opener)(nil).Open
	_ func(io.Reader) *CookieJar                                = NewCookieJar
	_ func(time.Time, netip.AddrPort, []byte) []byte            = (*CookieJar)(nil).Make
	_ func(time.Time, netip.AddrPort, []byte, []byte) bool      = (*CookieJar)(nil).Verify
	_ func(uint64) bool                                         = (*ReplayWindow)(nil).Seen
	_ func(uint64)                                              = (*ReplayWindow)(nil).Mark
	_                                                           = ResponderConfig{Local: KeyPair{}, ReplayWindow: time.Second, MaxTracked: 1, Authorize: func(PublicKey) bool { return true }, Rand: io.Reader(nil)}
	_                                                           = SessionKeys{Send: (*Sealer)(nil), Recv: (*Opener)(nil), HandshakeHash: []byte(nil)}
	_ [InitOverhead]byte
	_ [ResponseOverhead]byte
)
