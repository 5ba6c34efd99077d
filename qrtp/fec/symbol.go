package fec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/reedsolomon"
)

// Errors callers may branch on.
var (
	// ErrOversize: a payload or symbol larger than the configured maximum.
	ErrOversize = errors.New("fec: symbol too large")
	// ErrInvalid: a repair symbol or source id that cannot belong to a
	// well-formed group (bad k/m/index, or inconsistent with the group).
	ErrInvalid = errors.New("fec: invalid symbol")
	// ErrDisabled: Add was called while the parameters say "no FEC".
	ErrDisabled = errors.New("fec: disabled")
)

// lenPrefix is the size of the length carried inside each protected source
// symbol, so a recovered packet comes back at its exact size.
const lenPrefix = 2

// MaxPayload is the largest source payload the 16-bit length prefix allows.
const MaxPayload = 1<<16 - 1

// MaxShards is the most symbols (k + m) in one group: Reed-Solomon over
// GF(2^8) as klauspost/reedsolomon implements it.
const MaxShards = 256

// SourceID names one source symbol: the group it belongs to and its index
// (0 ≤ Index < K) inside that group. The sender must convey it with the
// packet so that the receiver can hand it to Decoder.AddSource.
type SourceID struct {
	Group uint64
	Index int
}

// Repair is one repair symbol. Index is the shard index, K ≤ Index < K+M;
// Data is the Reed-Solomon parity over the group's padded source symbols,
// and its length is the group's symbol size (2 + largest source payload).
type Repair struct {
	Group uint64
	Index int
	K, M  int
	Data  []byte
}

// Recovered is a source payload rebuilt from repair symbols.
type Recovered struct {
	ID      SourceID
	Payload []byte
}

// Params are the coding parameters the Policy chooses and the Encoder uses.
// The zero value means no FEC.
type Params struct {
	// K source symbols per group; 0 disables FEC.
	K int
	// M repair symbols for a full group.
	M int
	// Interleave spreads consecutive sources over this many groups open at
	// once (≤ 1 means none), so that a loss burst hits each group less.
	Interleave int
	// Short[k'] is the number of repair symbols for a group flushed early
	// with k' < K sources; when missing, ceil(M·k'/K) (at least 1).
	Short []int
	// MaxDelay is how long a group may stay open before Encoder.FlushDue
	// seals it; 0 means only full groups and explicit flushes seal.
	MaxDelay time.Duration
	// Residual is the predicted probability that a full group cannot be
	// recovered (informational; set by the Policy).
	Residual float64
}

// Enabled reports whether the parameters ask for FEC at all.
func (p Params) Enabled() bool { return p.K > 0 && p.M > 0 }

// Overhead is M/K: repair bytes per source byte of a full group.
func (p Params) Overhead() float64 {
	if !p.Enabled() {
		return 0
	}
	return float64(p.M) / float64(p.K)
}

// repairsFor is the number of repair symbols for a group of k sources.
func (p Params) repairsFor(k int) int {
	if k >= p.K {
		return p.M
	}
	if k < len(p.Short) && p.Short[k] > 0 {
		return p.Short[k]
	}
	return max(1, (p.M*k+p.K-1)/p.K)
}

// putLen writes the length prefix of a source symbol.
func putLen(b []byte, n int) { binary.BigEndian.PutUint16(b, uint16(n)) }

// getLen reads it.
func getLen(b []byte) int { return int(binary.BigEndian.Uint16(b)) }

// codecs caches Reed-Solomon codecs by (k, m): building one inverts a
// matrix, so it is done once per shape. The cache is bounded; when full it
// is cleared (shapes change rarely).
type codecs struct {
	m map[uint32]reedsolomon.Encoder
}

const maxCodecs = 64

func (c *codecs) get(k, m int) (reedsolomon.Encoder, error) {
	key := uint32(k)<<16 | uint32(m)
	if rs, ok := c.m[key]; ok {
		return rs, nil
	}
	if c.m == nil || len(c.m) >= maxCodecs {
		c.m = make(map[uint32]reedsolomon.Encoder)
	}
	// One goroutine: the codec runs inside a sans-IO core, and packet-sized
	// shards are too small for splitting to pay. The inversion cache keeps
	// one entry per erasure pattern, so it is only used for small groups,
	// where the number of patterns stays small.
	rs, err := reedsolomon.New(k, m,
		reedsolomon.WithMaxGoroutines(1),
		reedsolomon.WithInversionCache(k+m <= 24))
	if err != nil {
		return nil, fmt.Errorf("fec: codec k=%d m=%d: %w", k, m, err)
	}
	c.m[key] = rs
	return rs, nil
}

// bufPool is a free list of symbol buffers of one capacity. Single-threaded,
// like the codec that owns it.
type bufPool struct {
	size int
	free [][]byte
}

func (p *bufPool) get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, p.size)
}

func (p *bufPool) put(b []byte) {
	if cap(b) >= p.size {
		p.free = append(p.free, b[:0])
	}
}
