//go:build !linux

package udp

import "net"

func enableOffload(*net.UDPConn) (gso, gro bool) { return false, false }
func gsoControl(oob []byte, _ int) []byte        { return oob[:0] }
func groSegment([]byte) int                      { return 0 }
func isGSOError(error) bool                      { return false }

const controlSpace = 64
