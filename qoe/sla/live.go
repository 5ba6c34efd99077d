package sla

// Minutes counts one call's participant-minutes as they pass, for live
// metrics: a wall-clock minute counts once it is over, stalled when a
// stall overlapped it. The zero value is not ready: use NewMinutes.
type Minutes struct {
	next    int64          // the first minute not yet counted
	stalled map[int64]bool // minutes a stall overlapped, not yet counted
}

// NewMinutes starts counting at joinedAt (unix ms).
func NewMinutes(joinedAt int64) *Minutes {
	return &Minutes{next: joinedAt / minuteMs, stalled: map[int64]bool{}}
}

// Stall marks the minutes a stall overlapped.
func (m *Minutes) Stall(at int64, durationMs int) {
	for x := max(at/minuteMs, m.next); x <= (at+int64(durationMs))/minuteMs; x++ {
		m.stalled[x] = true
	}
}

// Advance counts the minutes that ended by now (all of them with final:
// the call ended, its last minute counts too) and returns how many, and
// how many of them had a stall.
func (m *Minutes) Advance(now int64, final bool) (minutes, stalled int) {
	end := now / minuteMs // the current minute, not over yet
	if final {
		end++
	}
	for ; m.next < end; m.next++ {
		minutes++
		if m.stalled[m.next] {
			stalled++
			delete(m.stalled, m.next)
		}
	}
	return minutes, stalled
}

// EstimateE2E estimates a track's end-to-end latency in ms when the
// publisher's own timestamps are not available: half the round trip of
// the publisher's access link (0 when unknown), half of each trunk hop's
// round trip along the route, the subscriber's jitter buffer, and half
// its access link's round trip. Decoding and rendering are not in it.
func EstimateE2E(pubRTTMs float64, hopRTTsMs []float64, jitterBufferMs, subRTTMs float64) float64 {
	e := pubRTTMs/2 + jitterBufferMs + subRTTMs/2
	for _, r := range hopRTTsMs {
		e += r / 2
	}
	return e
}
