package udp

import (
	"fmt"
	"log/slog"
	"net"
)

// SocketBuffers says what socket buffer sizes were asked for and what the
// kernel granted, in the units of the request. Linux caps a request at
// net.core.rmem_max (receive) or wmem_max (send) without an error, so the
// grant is read back rather than assumed; a process with CAP_NET_ADMIN
// may go past the cap, which the driver then does ("forced").
//
// A granted size of 0 means the system gives no way to read it back
// (builds other than Linux); Capped is then false.
type SocketBuffers struct {
	ReadRequested  int  `json:"read_requested"`
	ReadGranted    int  `json:"read_granted"`
	ReadForced     bool `json:"read_forced,omitempty"`
	WriteRequested int  `json:"write_requested"`
	WriteGranted   int  `json:"write_granted"`
	WriteForced    bool `json:"write_forced,omitempty"`
}

// Capped reports whether the kernel granted less than was asked for in
// either direction: bursts beyond the grant are dropped by the kernel
// before QRTP sees them (counted in /proc/net/snmp as RcvbufErrors).
func (b SocketBuffers) Capped() bool {
	return (b.ReadGranted > 0 && b.ReadGranted < b.ReadRequested) ||
		(b.WriteGranted > 0 && b.WriteGranted < b.WriteRequested)
}

// SetSocketBuffers asks the kernel for a receive buffer of read bytes and a
// send buffer of write bytes on c (0 leaves a direction alone), goes past
// the system's cap where the process may, reads back what was granted and
// logs it on log (nil: no logging): a warning naming the sysctl to raise
// when the kernel granted less. Transports opened by this package call it
// with 8 MiB each way (Stats.Buffers); a program that opens its own UDP
// socket for a qrtp.Endpoint calls it and exports the result.
func SetSocketBuffers(c *net.UDPConn, read, write int, log *slog.Logger) (SocketBuffers, error) {
	b := SocketBuffers{ReadRequested: read, WriteRequested: write}
	var err error
	if read > 0 {
		if b.ReadGranted, b.ReadForced, err = setBuffer(c, read, false); err != nil {
			return b, fmt.Errorf("qrtp/udp: receive buffer: %w", err)
		}
	}
	if write > 0 {
		if b.WriteGranted, b.WriteForced, err = setBuffer(c, write, true); err != nil {
			return b, fmt.Errorf("qrtp/udp: send buffer: %w", err)
		}
	}
	if log != nil {
		logBuffers(log, c, b)
	}
	return b, nil
}

func logBuffers(log *slog.Logger, c *net.UDPConn, b SocketBuffers) {
	addr := c.LocalAddr().String()
	if b.ReadGranted > 0 && b.ReadGranted < b.ReadRequested {
		log.Warn("qrtp/udp: the kernel capped the socket's receive buffer; bursts beyond it are dropped",
			"addr", addr, "requested", b.ReadRequested, "granted", b.ReadGranted,
			"fix", fmt.Sprintf("sysctl -w net.core.rmem_max=%d", b.ReadRequested))
	}
	if b.WriteGranted > 0 && b.WriteGranted < b.WriteRequested {
		log.Warn("qrtp/udp: the kernel capped the socket's send buffer",
			"addr", addr, "requested", b.WriteRequested, "granted", b.WriteGranted,
			"fix", fmt.Sprintf("sysctl -w net.core.wmem_max=%d", b.WriteRequested))
	}
	log.Debug("qrtp/udp: socket buffers", "addr", addr,
		"read", b.ReadGranted, "read_forced", b.ReadForced, "write", b.WriteGranted, "write_forced", b.WriteForced)
}
