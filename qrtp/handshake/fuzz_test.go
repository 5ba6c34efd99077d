package handshake

import (
	"bytes"
	"testing"
)

func FuzzReadInit(f *testing.F) {
	p := newPeers(f, ResponderConfig{})
	_, genuine := p.init(f, t0, []byte("0-RTT"))
	f.Add(genuine)
	f.Add(genuine[:InitOverhead-1])
	f.Add(make([]byte, InitOverhead))
	f.Add(append(bytes.Clone(genuine), 0))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := NewResponder(ResponderConfig{Local: p.resp, Rand: seeded(4)})
		pending, err := r.ReadInit(t0, prologue1, msg)
		if err != nil {
			return
		}
		// Only the genuine message authenticates.
		if !bytes.Equal(msg, genuine) || string(pending.Payload()) != "0-RTT" {
			t.Fatalf("forged message 1 accepted: %x", msg)
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	p := newPeers(f, ResponderConfig{})
	_, msg1 := p.init(f, t0, nil)
	pending, err := p.responder.ReadInit(t0, prologue1, msg1)
	if err != nil {
		f.Fatal(err)
	}
	genuine, _, err := pending.WriteResponse(nil, prologue2, []byte("0.5-RTT"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add(genuine[:ResponseOverhead])
	f.Add(make([]byte, ResponseOverhead+3))
	f.Fuzz(func(t *testing.T, msg []byte) {
		// The initiator is rebuilt from the same seed, so it expects
		// exactly the genuine message 2.
		ini, _ := p.init(t, t0, nil)
		payload, _, err := ini.ReadResponse(prologue2, msg)
		if err != nil {
			return
		}
		if !bytes.Equal(msg, genuine) || string(payload) != "0.5-RTT" {
			t.Fatalf("forged message 2 accepted: %x", msg)
		}
	})
}

func FuzzOpen(f *testing.F) {
	ini, resp := sessionPair(f)
	header := []byte{0x40, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 9}
	genuine := ini.Send.Seal(nil, header, []byte("frames"), 9)
	f.Add(header, genuine, uint64(9))
	f.Add(header, genuine[:SealOverhead], uint64(9))
	f.Add([]byte{}, []byte{}, uint64(0))
	f.Fuzz(func(t *testing.T, hdr, ct []byte, pn uint64) {
		pt, err := resp.Recv.Open(make([]byte, 0, len(ct)), hdr, ct, pn)
		if err != nil {
			return
		}
		if !bytes.Equal(hdr, header) || !bytes.Equal(ct, genuine) || pn != 9 || string(pt) != "frames" {
			t.Fatalf("forged packet opened: hdr %x ct %x pn %d", hdr, ct, pn)
		}
	})
}
