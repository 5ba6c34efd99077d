package node

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per client address, bounded in memory: idle
// clients are forgotten, and when the table is full of busy ones a new
// address is refused rather than let the table grow.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	clients map[netip.Addr]*client
	sweepAt time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// Bounds of the client table.
const (
	maxClients = 10000
	clientIdle = time.Minute
)

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: burst, clients: map[netip.Addr]*client{}}
}

// allow spends a token of the client's bucket at now.
func (l *limiter) allow(now time.Time, a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[a]
	if c == nil {
		if len(l.clients) >= maxClients && now.Sub(l.sweepAt) > time.Second {
			l.sweepAt = now
			for k, x := range l.clients {
				if now.Sub(x.seen) > clientIdle {
					delete(l.clients, k)
				}
			}
		}
		if len(l.clients) >= maxClients {
			return false
		}
		c = &client{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[a] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}
