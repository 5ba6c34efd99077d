// Package fec is QRTP's forward error correction: Reed-Solomon groups over
// variable-size byte symbols (github.com/klauspost/reedsolomon), and the
// redundancy policy that chooses how much to send.
//
// It knows byte symbols, group ids and time. It must not know frames,
// packet numbers, streams or sockets: the connection core decides which
// payloads to protect and how to carry SourceIDs and Repairs on the wire.
package fec
