package handshake

import (
	"bytes"
	"testing"
	"time"
)

func TestHandshakeRoundTripWithPayloadBothWays(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	ini, msg1 := p.init(t, t0, []byte("0-RTT frames"))
	if got, want := len(msg1), len("0-RTT frames")+InitOverhead; got != want {
		t.Fatalf("message 1 is %d bytes, want %d", got, want)
	}
	pending, err := p.responder.ReadInit(t0.Add(30*time.Millisecond), prologue1, msg1)
	if err != nil {
		t.Fatal(err)
	}
	if string(pending.Payload()) != "0-RTT frames" {
		t.Fatalf("0-RTT payload %q", pending.Payload())
	}
	if pending.RemoteStatic() != p.ini.Public {
		t.Fatal("responder learned the wrong initiator key")
	}
	msg2, respKeys, err := pending.WriteResponse([]byte("hdr:"), prologue2, []byte("0.5-RTT frames"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg2, []byte("hdr:")) || len(msg2) != 4+len("0.5-RTT frames")+ResponseOverhead {
		t.Fatalf("message 2 not appended to dst or wrong size: %d bytes", len(msg2))
	}
	payload, iniKeys, err := ini.ReadResponse(prologue2, msg2[4:])
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != "0.5-RTT frames" {
		t.Fatalf("response payload %q", payload)
	}
	checkKeys(t, iniKeys, respKeys)
	if _, _, err := ini.ReadResponse(prologue2, msg2[4:]); err == nil {
		t.Fatal("a finished initiator read message 2 again")
	}
	if _, _, err := pending.WriteResponse(nil, prologue2, nil); err == nil {
		t.Fatal("a pending handshake answered twice")
	}
}

func TestEmptyPayloads(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	ini, msg1 := p.init(t, t0, nil)
	pending, err := p.responder.ReadInit(t0, prologue1, msg1)
	if err != nil {
		t.Fatal(err)
	}
	msg2, rk, err := pending.WriteResponse(nil, prologue2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg1) != InitOverhead || len(msg2) != ResponseOverhead {
		t.Fatalf("sizes %d %d", len(msg1), len(msg2))
	}
	_, ik, err := ini.ReadResponse(prologue2, msg2)
	if err != nil {
		t.Fatal(err)
	}
	checkKeys(t, ik, rk)
}

func TestSessionsHaveDistinctKeys(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	var hashes [][]byte
	for k := range 2 {
		ik, rk := p.complete(t, t0.Add(time.Duration(k)*time.Second))
		checkKeys(t, ik, rk)
		hashes = append(hashes, ik.HandshakeHash)
		// A key of one direction must not open the other direction.
		ct := ik.Send.Seal(nil, nil, []byte("x"), 1)
		if _, err := ik.Recv.Open(nil, nil, ct, 1); err == nil {
			t.Fatal("both directions share a key")
		}
	}
	if bytes.Equal(hashes[0], hashes[1]) {
		t.Fatal("two handshakes produced the same session")
	}
}

func TestWrongResponderKey(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	other := NewResponder(ResponderConfig{Local: mustKeys(t, 9)})
	_, msg1 := p.init(t, t0, []byte("x"))
	_, err := other.ReadInit(t0, prologue1, msg1)
	wantErr(t, err, ErrDecrypt)
}

func TestTamperedMessage1(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	_, msg1 := p.init(t, t0, []byte("frames"))
	for i := range msg1 {
		bad := bytes.Clone(msg1)
		bad[i] ^= 0x01
		_, err := p.responder.ReadInit(t0, prologue1, bad)
		wantErr(t, err, ErrDecrypt)
	}
	// Nothing above reached the replay table, so the genuine one passes.
	if _, err := p.responder.ReadInit(t0, prologue1, msg1); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedMessage2ThenGenuine(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	ini, msg1 := p.init(t, t0, nil)
	pending, err := p.responder.ReadInit(t0, prologue1, msg1)
	if err != nil {
		t.Fatal(err)
	}
	msg2, rk, err := pending.WriteResponse(nil, prologue2, []byte("resp"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range msg2 {
		bad := bytes.Clone(msg2)
		bad[i] ^= 0x80
		_, _, err := ini.ReadResponse(prologue2, bad)
		wantErr(t, err, ErrDecrypt)
	}
	// A forged ephemeral of low order makes a DH fail mid-way; the
	// initiator must recover from that too.
	lowOrder := bytes.Clone(msg2)
	clear(lowOrder[:KeySize])
	_, _, err = ini.ReadResponse(prologue2, lowOrder)
	wantErr(t, err, ErrDecrypt)

	_, ik, err := ini.ReadResponse(prologue2, msg2)
	if err != nil {
		t.Fatalf("genuine message 2 after forgeries: %v", err)
	}
	checkKeys(t, ik, rk)
}

func TestPrologueMismatch(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	ini, msg1 := p.init(t, t0, nil)
	_, err := p.responder.ReadInit(t0, []byte("another header"), msg1)
	wantErr(t, err, ErrDecrypt)
	pending, err := p.responder.ReadInit(t0, prologue1, msg1)
	if err != nil {
		t.Fatal(err)
	}
	msg2, _, err := pending.WriteResponse(nil, prologue2, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ini.ReadResponse([]byte("another header"), msg2)
	wantErr(t, err, ErrDecrypt)
	if _, _, err := ini.ReadResponse(prologue2, msg2); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedAndOutOfOrder(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	_, err := p.responder.ReadInit(t0, prologue1, make([]byte, InitOverhead-1))
	wantErr(t, err, ErrMalformed)
	_, err = p.responder.ReadInit(t0, prologue1, make([]byte, 70000))
	wantErr(t, err, ErrMalformed)

	ini, err := NewInitiator(p.ini, p.resp.Public, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ini.ReadResponse(prologue2, make([]byte, 100))
	wantErr(t, err, ErrState)
	if _, err := ini.WriteInit(nil, t0, prologue1, nil); err != nil {
		t.Fatal(err)
	}
	_, err = ini.WriteInit(nil, t0, prologue1, nil)
	wantErr(t, err, ErrState)
	_, _, err = ini.ReadResponse(prologue2, make([]byte, ResponseOverhead-1))
	wantErr(t, err, ErrMalformed)

	if _, err := NewInitiator(p.ini, PublicKey{}, nil); err == nil {
		t.Fatal("zero responder key accepted")
	}
	if _, err := ini.WriteInit(nil, t0, nil, make([]byte, 65536)); err == nil {
		t.Fatal("oversized payload accepted")
	}
}

func TestLowOrderResponderKeyRefused(t *testing.T) {
	var lowOrder PublicKey
	lowOrder[0] = 1 // the point of order 1 in Montgomery u form
	ini, err := NewInitiator(mustKeys(t, 1), lowOrder, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ini.WriteInit(nil, t0, nil, nil)
	wantErr(t, err, ErrBadKey)
}
