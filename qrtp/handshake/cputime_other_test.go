//go:build !unix

package handshake

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
