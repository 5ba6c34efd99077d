package sfu

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Path faults are a test and demo hook on the ICE UDP socket: CutPaths
// makes the node deaf and mute to the client addresses in use right now,
// as a client's network change or a broken path would. New addresses (a
// client's ICE restart gathers new ports) pass, so only an ICE restart
// brings media back before the cut ends. It exists only when
// Config.PathFaults is set: the wrapper costs a lock per datagram, which
// the forwarding hot path of a production node must not pay.

// faultConn wraps the ICE UDP socket and drops datagrams of cut addresses.
// It keeps *net.UDPConn's allocation-free AddrPort methods (pion's UDP mux
// uses them when offered).
type faultConn struct {
	*net.UDPConn

	mu     sync.Mutex
	recent map[netip.AddrPort]time.Time // last datagram from each address
	cut    map[netip.AddrPort]time.Time // until when each address is cut
}

// recentWindow: an address counts as in use if it sent within this window.
const recentWindow = 2 * time.Second

// maxRecent bounds the addresses remembered.
const maxRecent = 4096

func newFaultConn(c *net.UDPConn) *faultConn {
	return &faultConn{UDPConn: c, recent: map[netip.AddrPort]time.Time{}, cut: map[netip.AddrPort]time.Time{}}
}

// blocked records an arrival (when in is true) and reports whether addr is cut.
func (f *faultConn) blocked(addr netip.AddrPort, in bool) bool {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if until, ok := f.cut[addr]; ok {
		if now.Before(until) {
			return true
		}
		delete(f.cut, addr)
	}
	if in {
		if len(f.recent) >= maxRecent {
			for a, at := range f.recent {
				if now.Sub(at) > recentWindow {
					delete(f.recent, a)
				}
			}
		}
		if len(f.recent) < maxRecent {
			f.recent[addr] = now
		}
	}
	return false
}

// cutRecent cuts every address heard within recentWindow, for d.
func (f *faultConn) cutRecent(d time.Duration) int {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for a, at := range f.recent {
		if now.Sub(at) <= recentWindow {
			f.cut[a] = now.Add(d)
			n++
		}
		delete(f.recent, a)
	}
	return n
}

// ReadFromAddrPort drops datagrams from cut addresses.
func (f *faultConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := f.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil || !f.blocked(addr, true) {
			return n, addr, err
		}
	}
}

// WriteToAddrPort drops datagrams to cut addresses (reporting them sent).
func (f *faultConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if f.blocked(addr, false) {
		return len(b), nil
	}
	return f.UDPConn.WriteToUDPAddrPort(b, addr)
}

// ReadFrom is ReadFromAddrPort for callers that want a net.Addr.
func (f *faultConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := f.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteTo is WriteToAddrPort for callers with a net.Addr.
func (f *faultConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return f.UDPConn.WriteTo(b, addr)
	}
	return f.WriteToAddrPort(b, ua.AddrPort())
}

// CutPaths makes the node drop every ICE datagram to and from the client
// addresses that sent within the last two seconds, for d, and returns how
// many addresses it cut. Addresses first heard later pass. It needs
// Config.PathFaults; without it it cuts nothing and returns 0.
func (s *SFU) CutPaths(d time.Duration) int {
	if s.eng.faults == nil {
		return 0
	}
	return s.eng.faults.cutRecent(d)
}
