package node

import (
	"time"

	"github.com/qrtn/qrtn/sfu"
)

func sfuTestConfig() sfu.Config {
	return sfu.Config{UDPAddr: "127.0.0.1:0", DynacastPauseAfter: 500 * time.Millisecond, Tick: 50 * time.Millisecond}
}
