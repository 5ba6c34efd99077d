package handshake

import (
	"encoding/binary"
	"testing"

	"github.com/flynn/noise"
)

// TestInteropWithStockNoise runs the handshake against flynn/noise's own
// DH25519 on the other side: the parsed-key DH must not change a byte of
// the protocol.
func TestInteropWithStockNoise(t *testing.T) {
	p := newPeers(t, ResponderConfig{})
	stock := noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashSHA256)
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:           stock,
		Random:                seeded(8),
		Pattern:               noise.HandshakeIK,
		Initiator:             true,
		Prologue:              prologue1,
		PresharedKeyPlacement: 2,
		StaticKeypair:         noise.DHKey{Private: p.ini.Private[:], Public: p.ini.Public[:]},
		PeerStatic:            p.resp.Public[:],
	})
	if err != nil {
		t.Fatal(err)
	}
	payload := binary.BigEndian.AppendUint64(nil, uint64(t0.UnixNano()))
	msg1, _, _, err := hs.WriteMessage(nil, append(payload, "stock"...))
	if err != nil {
		t.Fatal(err)
	}
	pending, err := p.responder.ReadInit(t0, prologue1, msg1)
	if err != nil {
		t.Fatalf("our responder refused stock Noise: %v", err)
	}
	if string(pending.Payload()) != "stock" {
		t.Fatalf("payload %q", pending.Payload())
	}
	msg2, rk, err := pending.WriteResponse(nil, prologue2, []byte("ours"))
	if err != nil {
		t.Fatal(err)
	}
	if err := hs.SetPresharedKey(responsePSK(prologue2)); err != nil {
		t.Fatal(err)
	}
	got, toResp, toIni, err := hs.ReadMessage(nil, msg2)
	if err != nil || string(got) != "ours" {
		t.Fatalf("stock Noise refused our message 2: %v", err)
	}
	checkKeys(t, newSessionKeys(toResp.UnsafeKey(), toIni.UnsafeKey(), hs.ChannelBinding()), rk)
}
