package qrtp

import "github.com/qrtn/qrtn/qrtp/handshake"

// packetKeys protects a connection's short-header packets and updates the
// keys before AES-GCM's per-key limit. Each direction updates on its own:
// the sender moves to the next key generation every updateEvery packets
// and flips the key-phase bit; a receiver seeing the other phase derives
// the next opener (handshake.Opener.Next) and adopts it once a packet
// authenticates with it, keeping the previous one for packets reordered
// across the switch. No round trip, no coordination.
type packetKeys struct {
	sealer      *handshake.Sealer
	sendPhase   bool
	sendStart   uint64 // first packet number sealed with the current key
	updateEvery uint64

	opener    *handshake.Opener
	recvPhase bool
	prev      *handshake.Opener // the generation before, for reordered packets
	switchPN  uint64            // first packet number seen with the current key
	next      *handshake.Opener // derived when the other phase first appears
	updates   uint64            // receive-side updates adopted
}

// defaultKeyUpdate leaves half of the per-key budget as margin.
const defaultKeyUpdate = handshake.MaxPacketsPerKey / 2

func (k *packetKeys) set(s handshake.SessionKeys, firstPN uint64) {
	k.sealer, k.opener = s.Send, s.Recv
	k.sendStart = firstPN
	if k.updateEvery == 0 {
		k.updateEvery = defaultKeyUpdate
	}
}

func (k *packetKeys) ready() bool { return k.sealer != nil }

// seal returns the sealer for packet pn and the phase to put in its
// header, updating the key when the current one has sealed enough. As in
// QUIC, it does not update again before the peer acknowledged a packet
// sealed with the current key (largestAcked), so the peer has moved to
// this generation and one phase bit is never ambiguous. As in
// QUIC, it does not update again before the peer acknowledged a packet
// sealed with the current key (largestAcked), so the peer has moved to
// this generation and one phase bit is never ambiguous.
func (k *packetKeys) seal(pn, largestAcked uint64, anyAcked bool) (*handshake.Sealer, bool) {
	if pn-k.sendStart >= k.updateEvery && anyAcked && largestAcked >= k.sendStart {
		k.sealer = k.sealer.Next()
		k.sendPhase = !k.sendPhase
		k.sendStart = pn
	}
	return k.sealer, k.sendPhase
}

// open authenticates and decrypts a packet sealed under phase.
func (k *packetKeys) open(dst, header, ciphertext []byte, pn uint64, phase bool) ([]byte, error) {
	if phase == k.recvPhase {
		return k.opener.Open(dst, header, ciphertext, pn)
	}
	if k.prev != nil && pn < k.switchPN {
		return k.prev.Open(dst, header, ciphertext, pn)
	}
	if k.next == nil {
		k.next = k.opener.Next()
	}
	pt, err := k.next.Open(dst, header, ciphertext, pn)
	if err != nil {
		return nil, err
	}
	k.prev, k.opener, k.next = k.opener, k.next, nil
	k.recvPhase = phase
	k.switchPN = pn
	k.updates++
	return pt, nil
}
