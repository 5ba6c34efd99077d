package udprelay

import (
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
)

// TestSetLinksLive: SetLinks on a running relay changes what the next
// datagrams meet (qrtn demo's live link controls rely on it): all lost
// upstream while the up link loses everything, all echoed again after.
func TestSetLinksLive(t *testing.T) {
	e := startEcho(t)
	r := startRelay(t, Config{Upstream: e.addr()})
	c := dialRelay(t, r)
	echoes := func(n int) int {
		got := 0
		buf := make([]byte, 64)
		for i := 0; i < n; i++ {
			if _, err := c.Write([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := c.Read(buf); err == nil {
				got++
			}
		}
		return got
	}
	if got := echoes(5); got != 5 {
		t.Fatalf("clean link: %d of 5 echoed", got)
	}
	r.SetLinks(netsim.LinkConfig{Loss: netsim.Bernoulli(1)}, netsim.LinkConfig{})
	if got := echoes(5); got != 0 {
		t.Fatalf("up link losing all: %d of 5 echoed", got)
	}
	if st := r.Stats(); st.Up.Link.Lost < 5 {
		t.Fatalf("up link counted %d lost", st.Up.Link.Lost)
	}
	r.SetLinks(netsim.LinkConfig{}, netsim.LinkConfig{})
	if got := echoes(5); got != 5 {
		t.Fatalf("restored link: %d of 5 echoed", got)
	}
}
