package handshake

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// BenchmarkCipherChoice measures the two AEADs Noise offers, used the way
// packet protection uses them (explicit nonce, 13-byte header, output
// buffer with room), at the two datagram sizes QRTP sends. It is the
// measurement behind the choice of AES-GCM in the package doc.
func BenchmarkCipherChoice(b *testing.B) {
	var key [32]byte
	block, err := aes.NewCipher(key[:])
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	chacha, err := chacha20poly1305.New(key[:])
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		aead cipher.AEAD
	}{{"AESGCM", gcm}, {"ChaChaPoly", chacha}} {
		for _, size := range []int{1200, 1400} {
			benchAEAD(b, fmt.Sprintf("%s/%d", c.name, size), c.aead, size)
		}
	}
}

func benchAEAD(b *testing.B, name string, aead cipher.AEAD, size int) {
	plaintext := make([]byte, size)
	out := make([]byte, 0, size+aead.Overhead())
	nonce := make([]byte, aead.NonceSize())
	b.Run(name+"/seal", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		reportCPU(b)
		var pn uint64
		for b.Loop() {
			pn++
			binary.BigEndian.PutUint64(nonce[4:], pn)
			out = aead.Seal(out[:0], nonce, plaintext, shortHeader)
		}
	})
	sealed := aead.Seal(nil, nonce, plaintext, shortHeader)
	b.Run(name+"/open", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		reportCPU(b)
		for b.Loop() {
			var err error
			if out, err = aead.Open(out[:0], nonce, sealed, shortHeader); err != nil {
				b.Fatal(err)
			}
		}
	})
}
