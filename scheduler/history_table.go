package scheduler

import (
	"net/netip"
	"sync/atomic"
)

// HistoryTable is a History held in memory: a QoE store computes the
// figures off the join path (every minute, say) and swaps them in with
// Replace; the scheduler reads them without locks. The zero value is an
// empty table (neutral history).
type HistoryTable struct {
	m atomic.Pointer[map[Scope]map[string]Quality]
}

// Replace installs new figures: by scope (a network prefix or a region),
// by node. The table keeps the map; do not modify it afterwards.
// Network scopes are normalised to their masked prefix.
func (t *HistoryTable) Replace(figures map[Scope]map[string]Quality) {
	norm := make(map[Scope]map[string]Quality, len(figures))
	for s, q := range figures {
		if s.Prefix.IsValid() {
			s = Scope{Prefix: s.Prefix.Masked()}
		}
		norm[s] = q
	}
	t.m.Store(&norm)
}

// Quality implements History.
func (t *HistoryTable) Quality(s Scope) map[string]Quality {
	m := t.m.Load()
	if m == nil {
		return nil
	}
	if s.Prefix.IsValid() {
		s = Scope{Prefix: s.Prefix.Masked()}
	}
	return (*m)[s]
}

// NetworkOf is the history scope of a client address: its /24 (IPv4) or
// /48 (IPv6), the key a QoE store should group calls by.
func NetworkOf(a netip.Addr) Scope { return Scope{Prefix: networkOf(a)} }
