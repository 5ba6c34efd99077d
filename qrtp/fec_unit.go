package qrtp

import (
	"cmp"
	"time"
)

// FEC units: what a group may span. QRTP seals a group at the end of each
// unit, a message or messages sent with SendMessageMore up to the one that
// ends them (fecSend.framed). Groups belong to the connection, so while one
// stream has a unit in progress, the end of another's does not seal.

// unitsOpen reports whether a stream has a unit in progress, forgetting
// units that ended, whose stream closed, or that have been open longer
// than the group delay (the encoder sealed their group by then; a unit
// whose end never comes must not hold later groups open).
func (f *fecSend) unitsOpen(now time.Time) bool {
	kept := f.open[:0]
	for _, s := range f.open {
		ms := s.ms
		switch {
		case ms == nil:
			continue
		case ms.unitPackets == 0 || s.sendClosed:
		case now.Sub(ms.unitSince) > cmp.Or(f.params.MaxDelay, fecUnitMaxOpen):
			ms.unitPackets = 0
		default:
			kept = append(kept, s)
			continue
		}
		ms.unitListed = false
	}
	clear(f.open[len(kept):])
	f.open = kept
	return len(f.open) > 0
}
