package signaling

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// TestPendingCapPerAddress: an address may hold MaxPendingPerAddr
// websockets without a join; one more is refused with too_many_pending and
// closed. A join frees the slot, and so does a close.
func TestPendingCapPerAddress(t *testing.T) {
	e := newEnv(t, Config{MaxPendingPerAddr: 2}, sfu.Config{})
	a, b := e.dial(), e.dial()
	over := e.dial()
	over.expectError(CodeTooManyPending)
	over.expectClosed()

	a.join(e.token(host("r", "a"), time.Hour)) // a is no longer pending
	c := e.dial()
	c.join(e.token(host("r", "c"), time.Hour))

	_ = b.ws.Close() // b's slot frees when the server sees it go
	waitPending(t, e.srv, "127.0.0.1", 0)
	d, f := e.dial(), e.dial()
	_, _ = d, f
	e.dial().expectError(CodeTooManyPending)
}

func waitPending(t *testing.T, s *Server, addr string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.pending.mu.Lock()
		n := s.pending.n[addr]
		s.pending.mu.Unlock()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pending websockets from %s, want %d", n, addr, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
