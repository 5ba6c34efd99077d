package handshake

import (
	"net/netip"
	"testing"
	"time"
)

const benchPacket = 1200

// shortHeader stands for a short header: flags, 8-byte CID, 4-byte pn.
var shortHeader = make([]byte, 13)

func BenchmarkSeal(b *testing.B) {
	ini, _ := sessionPair(b)
	body := make([]byte, benchPacket)
	out := make([]byte, 0, benchPacket+SealOverhead)
	b.SetBytes(benchPacket)
	b.ReportAllocs()
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

// BenchmarkReadInit is what a responder spends on one message 1 before it
// knows anything about the sender: the cost a flood buys, and the reason
// for cookies under load.
func BenchmarkReadInit(b *testing.B) {
	p := newPeers(b, ResponderConfig{})
	_, msg1 := p.init(b, t0, make([]byte, 200))
	wrongKey := NewResponder(ResponderConfig{Local: mustKeys(b, 7)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wrongKey.ReadInit(t0, prologue1, msg1); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkCookieVerify(b *testing.B) {
	jar := NewCookieJar(nil)
	addr := netip.MustParseAddrPort("192.0.2.1:443")
	ids := make([]byte, 16)
	cookie := jar.Make(t0, addr, ids)
	b.ReportAllocs()
	for b.Loop() {
		if !jar.Verify(t0, addr, ids, cookie) {
			b.Fatal("refused")
		}
	}
}
