//go:build !linux

package udp

import "net"

func enableOffload(*net.UDPConn) (gso, gro bool) { return false, false }
func gsoControl(oob []byte, _ int) []byte        { return oob[:0] }
func groSegment([]byte) int                      { return 0 }
func isGSOError(error) bool                      { return false }

const controlSpace = 64

// setBuffer sets the buffer through the standard library; other systems
// give no portable way to read the grant back, so it is reported as 0.
func setBuffer(c *net.UDPConn, n int, send bool) (granted int, forced bool, err error) {
	if send {
		return 0, false, c.SetWriteBuffer(n)
	}
	return 0, false, c.SetReadBuffer(n)
}
