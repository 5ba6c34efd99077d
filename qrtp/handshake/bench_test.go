package handshake

import (
	"crypto/ecdh"
	"errors"
	"net/netip"
	"testing"
	"time"
)

const benchPacket = 1200

// reportCPU adds cpu-ns/op: process CPU time per iteration, which a busy
// shared machine inflates far less than wall-clock ns/op. Call it right
// before the loop; it reports when the benchmark function returns.
func reportCPU(b *testing.B) {
	start, ok := processCPU()
	if !ok {
		return
	}
	b.Cleanup(func() {
		end, _ := processCPU()
		if b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	})
}

// shortHeader stands for a short header: flags, 8-byte CID, 4-byte pn.
var shortHeader = make([]byte, 13)

func BenchmarkSeal(b *testing.B) {
	ini, _ := sessionPair(b)
	body := make([]byte, benchPacket)
	out := make([]byte, 0, benchPacket+SealOverhead)
	b.SetBytes(benchPacket)
	b.ReportAllocs()
	reportCPU(b)
	var pn uint64
	for b.Loop() {
		pn++
		out = ini.Send.Seal(out[:0], shortHeader, body, pn)
	}
}

func BenchmarkOpen(b *testing.B) {
	ini, resp := sessionPair(b)
	sealed := ini.Send.Seal(nil, shortHeader, make([]byte, benchPacket), 1)
	out := make([]byte, 0, benchPacket)
	b.SetBytes(benchPacket)
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		var err error
		if out, err = resp.Recv.Open(out[:0], shortHeader, sealed, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshake is one complete handshake, both sides on one core:
// WriteInit, ReadInit, WriteResponse, ReadResponse (5 X25519 operations
// each side, counting key generation).
func BenchmarkHandshake(b *testing.B) {
	p := newPeers(b, ResponderConfig{})
	payload := make([]byte, 200)
	b.ReportAllocs()
	reportCPU(b)
	now := t0
	for b.Loop() {
		now = now.Add(time.Microsecond)
		ini, err := NewInitiator(p.ini, p.resp.Public, nil)
		if err != nil {
			b.Fatal(err)
		}
		msg1, err := ini.WriteInit(nil, now, prologue1, payload)
		if err != nil {
			b.Fatal(err)
		}
		pending, err := p.responder.ReadInit(now, prologue1, msg1)
		if err != nil {
			b.Fatal(err)
		}
		msg2, _, err := pending.WriteResponse(nil, prologue2, payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ini.ReadResponse(prologue2, msg2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadInit is what a responder spends on one valid message 1
// before it has decided anything about the sender: both DH operations (es,
// ss) and the decryption, refused afterwards by Authorize. Anyone who knows
// the responder's public key can make such messages with fresh static keys,
// so this is the price of a flood, and why the core answers with cookies
// under load.
func BenchmarkReadInit(b *testing.B) {
	p := newPeers(b, ResponderConfig{Authorize: func(PublicKey) bool { return false }})
	_, msg1 := p.init(b, t0, make([]byte, 200))
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		if _, err := p.responder.ReadInit(t0, prologue1, msg1); !errors.Is(err, ErrUnauthorized) {
			b.Fatal(err)
		}
	}
}

// BenchmarkX25519 is one scalar multiplication, the unit of handshake cost.
func BenchmarkX25519(b *testing.B) {
	priv, err := ecdh.X25519().NewPrivateKey(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	peer := mustKeys(b, 1).Public
	pub, err := ecdh.X25519().NewPublicKey(peer[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		if _, err := priv.ECDH(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCookieVerify(b *testing.B) {
	jar := NewCookieJar(nil)
	addr := netip.MustParseAddrPort("192.0.2.1:443")
	ids := make([]byte, 16)
	cookie := jar.Make(t0, addr, ids)
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		if !jar.Verify(t0, addr, ids, cookie) {
			b.Fatal("refused")
		}
	}
}
