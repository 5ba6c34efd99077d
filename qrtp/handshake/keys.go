package handshake

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a Curve25519 public or private key in bytes.
const KeySize = 32

// PublicKey is a node's long-term Curve25519 public key. Its String form
// (standard base64, 44 characters) is what configuration files carry.
type PublicKey [KeySize]byte

// PrivateKey is a node's long-term Curve25519 private key (the raw 32-byte
// scalar; X25519 clamps it when it is used).
type PrivateKey [KeySize]byte

// KeyPair is a node's long-term identity.
type KeyPair struct {
	Private PrivateKey
	Public  PublicKey
}

// ErrBadKey reports a key string that is not the standard base64 encoding
// of exactly 32 bytes, or a key that cannot take part in X25519.
var ErrBadKey = errors.New("handshake: bad key")

// GenerateKeyPair draws a private key from rand (crypto/rand.Reader when
// nil) and derives its public key.
func GenerateKeyPair(rand io.Reader) (KeyPair, error) {
	rand = orCryptoRand(rand)
	var p PrivateKey
	if _, err := io.ReadFull(rand, p[:]); err != nil {
		return KeyPair{}, fmt.Errorf("handshake: reading key randomness: %w", err)
	}
	return KeyPairFromPrivate(p), nil
}

// KeyPairFromPrivate derives the public half of p.
func KeyPairFromPrivate(p PrivateKey) KeyPair {
	kp := KeyPair{Private: p}
	copy(kp.Public[:], parsePrivate(p).PublicKey().Bytes())
	return kp
}

// String returns the key in standard base64 (44 characters).
func (k PublicKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// IsZero reports whether k is the all-zero key, which is never a valid
// peer key (it is a low-order point).
func (k PublicKey) IsZero() bool { return k == PublicKey{} }

// ParsePublicKey parses the standard base64 form written by
// PublicKey.String. Surrounding white space is ignored.
func ParsePublicKey(s string) (PublicKey, error) {
	var k PublicKey
	if err := decodeKey(s, k[:]); err != nil {
		return PublicKey{}, err
	}
	return k, nil
}

// String returns the private key in standard base64, the form private key
// files hold. Log the KeyPair or the PublicKey instead: slog redacts a
// PrivateKey (see LogValue), fmt does not.
func (k PrivateKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// LogValue keeps private keys out of structured logs.
func (k PrivateKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// LogValue logs only the public half of a key pair.
func (kp KeyPair) LogValue() slog.Value { return slog.StringValue(kp.Public.String()) }

// ParsePrivateKey parses the standard base64 form written by
// PrivateKey.String. Surrounding white space is ignored.
func ParsePrivateKey(s string) (PrivateKey, error) {
	var k PrivateKey
	if err := decodeKey(s, k[:]); err != nil {
		return PrivateKey{}, err
	}
	return k, nil
}

func decodeKey(s string, dst []byte) error {
	s = strings.TrimSpace(s)
	// Exact length first, so a huge input is rejected before decoding, and
	// Strict so each key has exactly one textual form.
	if len(s) != base64.StdEncoding.EncodedLen(KeySize) {
		return fmt.Errorf("%w: want %d base64 characters, got %d", ErrBadKey, base64.StdEncoding.EncodedLen(KeySize), len(s))
	}
	// Decode writes up to DecodedLen bytes (33 for 44 characters without
	// padding), so it gets a scratch buffer of that size, not dst.
	var buf [KeySize + 1]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(s))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if n != KeySize {
		return fmt.Errorf("%w: decoded %d bytes, want %d", ErrBadKey, n, KeySize)
	}
	copy(dst, buf[:KeySize])
	return nil
}

// LoadOrCreateKeyPair reads the private key stored at path (one base64
// line), or, when the file does not exist, generates a key pair from rand
// and writes its private key there with mode 0600, creating the directory
// (mode 0700) when needed. An existing file is never overwritten: if two
// processes race, both end up with the key that was written first.
func LoadOrCreateKeyPair(path string, rand io.Reader) (KeyPair, error) {
	kp, err := loadKeyPair(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return kp, err
	}
	kp, err = GenerateKeyPair(rand)
	if err != nil {
		return KeyPair{}, err
	}
	if err := WritePrivateKeyFile(path, kp.Private); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKeyPair(path)
		}
		return KeyPair{}, err
	}
	return kp, nil
}

// LoadKeyPair reads a private key file written by LoadOrCreateKeyPair or
// by `qrtn key generate --out`.
func LoadKeyPair(path string) (KeyPair, error) { return loadKeyPair(path) }

func loadKeyPair(path string) (KeyPair, error) {
	f, err := os.Open(path)
	if err != nil {
		return KeyPair{}, fmt.Errorf("handshake: private key file: %w", err)
	}
	defer f.Close()
	// A key file is one short line; reading a bounded prefix keeps a wrong
	// path (a disk image, /dev/zero) from being slurped into memory.
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return KeyPair{}, fmt.Errorf("handshake: reading %s: %w", path, err)
	}
	p, err := ParsePrivateKey(string(b))
	if err != nil {
		return KeyPair{}, fmt.Errorf("handshake: private key file %s: %w", path, err)
	}
	return KeyPairFromPrivate(p), nil
}

// WritePrivateKeyFile stores p at path (one base64 line, mode 0600),
// creating the directory (mode 0700) when needed. It never replaces an
// existing file: that is an error wrapping fs.ErrExist. The key is written
// to a temporary file and linked into place, so path holds either nothing
// or a complete key.
func WritePrivateKeyFile(path string, p PrivateKey) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("handshake: key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".qrtn-key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("handshake: writing private key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(p.String() + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("handshake: writing private key: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("handshake: %s already exists, not overwriting it: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("handshake: installing private key: %w", err)
	}
	return nil
}
