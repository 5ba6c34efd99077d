package handshake

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"net/netip"
	"time"
)

const (
	// CookieSize is the length of a cookie: a 4-byte coarse timestamp and a
	// 16-byte truncated HMAC-SHA256.
	CookieSize = cookieTimeSize + cookieMACSize
	// CookieLifetime is how long a cookie is accepted after it was made.
	CookieLifetime = 10 * time.Second
	// CookieRotation is how often the secret is replaced. The previous
	// secret is still accepted, and it outlives every cookie made with it
	// because CookieLifetime is far shorter.
	CookieRotation = 2 * time.Minute

	cookieTimeSize = 4
	cookieMACSize  = 16 // 128 bits: forging needs 2^128 tries per guess
	// cookieFuture tolerates a clock step backwards between Make and Verify.
	cookieFuture = 1 * time.Second
)

// CookieJar makes and checks stateless address-validation cookies: an
// initiator that echoes one proves it receives at the address it claims,
// and the responder has kept no state for it. cookie = unix seconds (4
// bytes, big-endian, modulo 2^32) ‖ HMAC-SHA256(secret, seconds ‖ address
// ‖ port ‖ ids)[:16]. Not safe for concurrent use.
type CookieJar struct {
	rand      io.Reader
	cur, prev hash.Hash // HMACs keyed with the current and previous secret
	rotated   time.Time // zero until the first Make or Verify
	// Scratch space in the struct: buffers on the stack would escape
	// through the hash.Hash interface and cost an allocation per cookie.
	input [cookieTimeSize + 16 + 2]byte
	sum   [sha256.Size]byte
}

// NewCookieJar returns a jar with fresh secrets drawn from rand
// (crypto/rand.Reader when nil; if a given reader fails, crypto/rand is
// used instead, since a cookie secret must never be predictable).
func NewCookieJar(rand io.Reader) *CookieJar {
	j := &CookieJar{rand: orCryptoRand(rand)}
	j.cur = j.newMAC()
	j.prev = j.newMAC()
	return j
}

func (j *CookieJar) newMAC() hash.Hash {
	var secret [32]byte
	if _, err := io.ReadFull(j.rand, secret[:]); err != nil {
		rand.Read(secret[:]) // never fails (Go ≥ 1.24 aborts the process instead)
	}
	return hmac.New(sha256.New, secret[:])
}

// rotate replaces the secret when CookieRotation has passed since the last
// rotation. It is lazy (driven by Make and Verify) because the jar owns no
// timer.
func (j *CookieJar) rotate(now time.Time) {
	if j.rotated.IsZero() {
		j.rotated = now
		return
	}
	if now.Sub(j.rotated) >= CookieRotation {
		j.prev, j.cur = j.cur, j.newMAC()
		j.rotated = now
	}
}

// Make returns a cookie for a client at addr; ids are the connection IDs
// (or any bytes) the cookie is bound to. It is CookieSize (20) bytes.
func (j *CookieJar) Make(now time.Time, addr netip.AddrPort, ids []byte) []byte {
	j.rotate(now)
	cookie := make([]byte, cookieTimeSize, CookieSize)
	binary.BigEndian.PutUint32(cookie, uint32(now.Unix()))
	return append(cookie, j.mac(j.cur, cookie[:cookieTimeSize], addr, ids)...)
}

// Verify reports whether cookie was made by this jar, for addr and ids,
// at most CookieLifetime ago.
func (j *CookieJar) Verify(now time.Time, addr netip.AddrPort, ids, cookie []byte) bool {
	if len(cookie) != CookieSize {
		return false
	}
	j.rotate(now)
	stamp := cookie[:cookieTimeSize]
	// Modular difference, so the 2106 wrap of 32-bit seconds is harmless.
	age := time.Duration(int32(uint32(now.Unix())-binary.BigEndian.Uint32(stamp))) * time.Second
	if age > CookieLifetime || age < -cookieFuture {
		return false
	}
	tag := cookie[cookieTimeSize:]
	return hmac.Equal(j.mac(j.cur, stamp, addr, ids), tag) ||
		hmac.Equal(j.mac(j.prev, stamp, addr, ids), tag)
}

// mac returns the truncated HMAC in j.sum (valid until the next call).
func (j *CookieJar) mac(h hash.Hash, stamp []byte, addr netip.AddrPort, ids []byte) []byte {
	buf := &j.input
	copy(buf[:], stamp)
	// As16 maps IPv4 into IPv6, so both spellings of one address agree.
	ip := addr.Addr().As16()
	copy(buf[cookieTimeSize:], ip[:])
	binary.BigEndian.PutUint16(buf[cookieTimeSize+16:], addr.Port())
	h.Reset()
	h.Write(buf[:])
	h.Write(ids)
	return h.Sum(j.sum[:0])[:cookieMACSize]
}
