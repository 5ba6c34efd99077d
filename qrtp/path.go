package qrtp

import (
	"encoding/binary"
	"io"
	"math"
	"net/netip"
	"time"
)

// path is the peer address a connection sends to, with what is needed to
// validate it. Until it is validated we send at most as many bytes as we
// received from it, so a forged source address cannot turn us into an
// amplifier.
type path struct {
	addr              netip.AddrPort
	validated         bool
	recvBytes         uint64
	sentBytes         uint64
	challenge         [8]byte
	challengePending  bool
	challengeDeadline time.Time
}

// budget is how many bytes may still be sent on the path.
func (p *path) budget() int {
	if p.validated {
		return math.MaxInt
	}
	return int(p.recvBytes - min(p.sentBytes, p.recvBytes))
}

// onPathPacket is called for every authenticated packet. A packet from a
// new address that is the newest we have seen means the peer moved (NAT
// rebinding or a real migration): we switch to the new address at once,
// limited by the anti-amplification budget, and validate it with
// PATH_CHALLENGE. Reordered older packets from elsewhere change nothing.
func (c *Conn) onPathPacket(now time.Time, from netip.AddrPort, size int, newest bool) {
	switch {
	case from == c.path.addr:
		if !c.path.validated {
			c.path.recvBytes += uint64(size)
		}
		return
	case !newest || c.state != stateEstablished:
		return
	}
	old := c.path
	if c.prevPath.validated && c.prevPath.addr == from {
		// Back to an address validated a moment ago.
		c.path, c.prevPath = c.prevPath, path{}
		return
	}
	if old.validated {
		c.prevPath = old
	}
	c.path = path{addr: from, recvBytes: uint64(size)}
	if _, err := io.ReadFull(c.ep.rand, c.path.challenge[:]); err != nil {
		c.closeSilently(err)
		return
	}
	c.path.challengePending = true
	c.path.challengeDeadline = now.Add(max(3*c.rec.rtt.pto(peerMaxAckDelay), time.Second))
	c.st.Migrations++
	if old.addr.Addr() != from.Addr() {
		// Another network: what we know of the old bottleneck says nothing
		// about this one.
		c.resetCongestion()
	}
	c.ep.log.Info("qrtp: peer address changed", "from", old.addr, "to", from)
}

func (c *Conn) onPathResponse(data [8]byte) {
	if !c.path.validated && data == c.path.challenge {
		c.path.validated = true
		c.path.challengeDeadline = time.Time{}
		c.prevPath = path{}
	}
}

// checkPath gives up on a new path that did not answer its challenge:
// back to the previous validated path, or close if there is none.
func (c *Conn) checkPath(now time.Time) {
	if c.path.validated || c.path.challengeDeadline.IsZero() || now.Before(c.path.challengeDeadline) {
		return
	}
	if c.prevPath.validated {
		c.path, c.prevPath = c.prevPath, path{}
		return
	}
	c.closeSilently(ErrPathValidation)
}

func (c *Conn) resetCongestion() {
	ctrl, err := newController(c.cfg, c.ep.cfg.MaxDatagramSize, binary.LittleEndian.Uint64(c.path.challenge[:]), c.log)
	if err == nil {
		c.rec.cc = ctrl
	}
}
