package handshake

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func benchAEADs(b *testing.B) map[string]cipher.AEAD {
	var key [32]byte
	blk, _ := aes.NewCipher(key[:])
	gcm, _ := cipher.NewGCM(blk)
	cp, _ := chacha20poly1305.New(key[:])
	return map[string]cipher.AEAD{"AESGCM": gcm, "ChaChaPoly": cp}
}

type nb struct{ n [12]byte }

func BenchmarkCipherChoice(b *testing.B) {
	for name, a := range benchAEADs(b) {
		for _, size := range []int{1200, 1400} {
			pt := make([]byte, size)
			hdr := make([]byte, 17)
			out := make([]byte, 0, size+16)
			nn := &nb{}
			b.Run(fmt.Sprintf("%s/seal/%d", name, size), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					binary.BigEndian.PutUint64(nn.n[4:], uint64(i))
					out = a.Seal(out[:0], nn.n[:], pt, hdr)
				}
			})
			ct := a.Seal(nil, nn.n[:], pt, hdr)
			b.Run(fmt.Sprintf("%s/open/%d", name, size), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					out, err = a.Open(out[:0], nn.n[:], ct, hdr)
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
