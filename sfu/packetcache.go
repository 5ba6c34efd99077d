package sfu

import "sync"

// packetCache keeps the most recent packets of one layer, as received, so
// that NACKs from any number of subscribers are answered from one copy. It
// is a ring indexed by extended sequence number. One goroutine writes; NACK
// handlers read concurrently.
type packetCache struct {
	mu    sync.RWMutex
	mask  uint64
	slots []cacheSlot
}

type cacheSlot struct {
	ext uint64
	n   int
	buf [maxPacketSize]byte
}

// maxPacketSize bounds a cached packet; larger ones are not cached.
const maxPacketSize = 1500

// newPacketCache returns a cache of size slots, rounded up to a power of two.
func newPacketCache(size int) *packetCache {
	n := 1
	for n < size {
		n <<= 1
	}
	return &packetCache{mask: uint64(n - 1), slots: make([]cacheSlot, n)}
}

// put stores a copy of raw under ext and returns the stored copy, which
// stays valid until size newer packets have been stored.
func (c *packetCache) put(ext uint64, raw []byte) []byte {
	if len(raw) > maxPacketSize {
		return nil
	}
	c.mu.Lock()
	s := &c.slots[ext&c.mask]
	s.ext = ext
	s.n = copy(s.buf[:], raw)
	c.mu.Unlock()
	return s.buf[:s.n]
}

// get copies the packet stored under ext into dst and returns it.
func (c *packetCache) get(ext uint64, dst []byte) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := &c.slots[ext&c.mask]
	if s.ext != ext || s.n == 0 {
		return nil, false
	}
	return append(dst[:0], s.buf[:s.n]...), true
}
