//go:build !linux

package udprelay

import (
	"net"
	"time"
)

var oobSize = 64

func enableRxStamp(*net.UDPConn) {}

func rxStamp([]byte) (time.Time, bool) { return time.Time{}, false }
