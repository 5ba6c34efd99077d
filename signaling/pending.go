package signaling

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// CodeTooManyPending refuses a websocket from an address that already has
// Config.MaxPendingPerAddr websockets open without a join.
const CodeTooManyPending = "too_many_pending"

// pendingLimit counts, per client address, the websockets that have not
// joined (or resumed) yet. Every websocket costs a goroutine, buffers and a
// file descriptor until JoinTimeout; without a cap one address could hold
// thousands before the process's descriptor limit stopped it, and starve
// every other client. Joined connections are bounded by rooms and tokens.
type pendingLimit struct {
	max int
	mu  sync.Mutex
	n   map[string]int // address → websockets not joined; no zero entries
}

// acquire counts one more pending websocket from addr, or reports false
// when addr is at the cap.
func (p *pendingLimit) acquire(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[string]int{}
	}
	if p.n[addr] >= p.max {
		return false
	}
	p.n[addr]++
	return true
}

// release counts one pending websocket from addr less.
func (p *pendingLimit) release(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[addr] <= 1 {
		delete(p.n, addr)
		return
	}
	p.n[addr]--
}

// clientAddr is the address a request counts against: the peer's IP (a
// proxy in front of the node makes every client one address; raise the cap
// there).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refusePending answers a websocket over the cap: the error message a
// client can read, then a close frame, with no goroutine started.
func (s *Server) refusePending(ws *websocket.Conn, addr string) {
	msg := fmt.Sprintf("%d websockets from %s have not joined yet (the limit); join on them or close them", s.cfg.MaxPendingPerAddr, addr)
	s.log.Warn("websocket refused", "remote", addr, "reason", msg)
	_ = ws.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteMessage(websocket.TextMessage, encodeError(CodeTooManyPending, msg))
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, CodeTooManyPending))
	_ = ws.Close()
}
