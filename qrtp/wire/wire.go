// Package wire encodes and decodes QRTP packet headers and frames.
//
// It owns the byte layouts documented in qrtp/README.md and nothing else: no
// state, no crypto, no time. Encoders are append-style (they append to a
// caller's slice and return it); decoders never allocate (byte fields alias
// the input, slices such as ACK ranges are appended into caller-owned
// capacity with a fixed bound) and never panic on any input. Everything a
// decoder rejects wraps ErrMalformed, so callers count and drop it.
//
// It must not know connections, streams' meaning, keys or sockets: the
// connection core in package qrtp gives the frames their semantics.
package wire

import (
	"errors"
	"fmt"
)

// Version is the QRTP version this package speaks, carried in long headers.
const Version uint32 = 0x51525401 // "QRT" + 1

// ConnIDLen is the length of every connection ID.
const ConnIDLen = 8

// ConnectionID names a connection at the endpoint that chose it. Each side
// picks its own, so a connection survives address changes: packets are
// demultiplexed by the ID, not by the address they came from.
type ConnectionID [ConnIDLen]byte

// String renders the ID in hex for logs.
func (c ConnectionID) String() string { return fmt.Sprintf("%x", c[:]) }

// Limits that bound what a decoder accepts, so no input makes memory grow.
const (
	// MaxAckRanges is the most ranges an ACK frame carries (newest first).
	MaxAckRanges = 256
	// MaxFECGroup is the most source packets one FEC group covers.
	MaxFECGroup = 64
	// MaxFECRecovered is the most packet numbers one FEC_RECOVERED frame lists.
	MaxFECRecovered = 256
	// MaxReasonLen bounds the reason phrase of CONNECTION_CLOSE.
	MaxReasonLen = 512
	// MaxCookieLen bounds a Retry cookie.
	MaxCookieLen = 64
)

// Errors returned by decoders. All of them wrap ErrMalformed.
var (
	// ErrMalformed is the root of every decoding error: the input is dropped.
	ErrMalformed = errors.New("wire: malformed")
	// ErrTruncated means the input ended inside a field.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrMalformed)
	// ErrUnknownFrame means the frame type is not defined.
	ErrUnknownFrame = fmt.Errorf("%w: unknown frame type", ErrMalformed)
	// ErrUnknownPacket means the long-header packet type is not defined.
	ErrUnknownPacket = fmt.Errorf("%w: unknown packet type", ErrMalformed)
	// ErrVersion means a long header carried a version this package does not speak.
	ErrVersion = fmt.Errorf("%w: unsupported version", ErrMalformed)
	// ErrRange means a field's value is out of its allowed range.
	ErrRange = fmt.Errorf("%w: field out of range", ErrMalformed)
)
