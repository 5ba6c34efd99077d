//go:build linux

package udp

import (
	"encoding/binary"
	"errors"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// enableOffload turns on UDP generic segmentation offload (one sendmsg
// carries up to maxSegments datagrams of equal size, cut by the kernel) and
// generic receive offload (one recvmsg returns a train of datagrams of one
// size from one sender). Both cut the per-datagram system-call cost, which
// dominates a user-space transport at a gigabit.
func enableOffload(c *net.UDPConn) (gso, gro bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return false, false
	}
	_ = raw.Control(func(fd uintptr) {
		// Reading UDP_SEGMENT succeeds exactly where the kernel knows it.
		if _, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT); err == nil {
			gso = true
		}
		gro = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) == nil
	})
	return gso, gro
}

// gsoControl writes the UDP_SEGMENT control message for segments of size
// bytes into oob (which must have room) and returns it.
func gsoControl(oob []byte, size int) []byte {
	oob = oob[:unix.CmsgSpace(2)]
	clear(oob)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
	return oob
}

// groSegment returns the segment size of a coalesced read, or 0 if the
// read holds one datagram.
func groSegment(oob []byte) int {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0
		}
		if h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO && len(data) >= 4 {
			return int(binary.NativeEndian.Uint32(data))
		}
		oob = rest
	}
	return 0
}

// isGSOError reports a send error that means the path cannot segment
// (EIO: the device lacks checksum offload; EINVAL: the kernel refused the
// segment layout), after which the driver stops using GSO.
func isGSOError(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL)
}

const controlSpace = 64 // room for the GSO and GRO control messages

// setBuffer sets SO_RCVBUF (or SO_SNDBUF) to n and reads back what the
// kernel granted. Linux stores twice the request (the other half is its
// bookkeeping) and reports that, so the grant is halved back into the
// request's units. If the cap (rmem_max / wmem_max) cut the request, it
// tries SO_RCVBUFFORCE, which succeeds with CAP_NET_ADMIN.
func setBuffer(c *net.UDPConn, n int, send bool) (granted int, forced bool, err error) {
	opt, force := unix.SO_RCVBUF, unix.SO_RCVBUFFORCE
	if send {
		opt, force = unix.SO_SNDBUF, unix.SO_SNDBUFFORCE
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	cerr := raw.Control(func(fd uintptr) {
		if err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, n); err != nil {
			return
		}
		var got int
		if got, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt); err != nil {
			return
		}
		granted = got / 2
		if granted >= n || unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, force, n) != nil {
			return
		}
		if got, gerr := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt); gerr == nil && got/2 > granted {
			granted, forced = got/2, true
		}
	})
	if cerr != nil {
		return 0, false, cerr
	}
	return granted, forced, err
}
