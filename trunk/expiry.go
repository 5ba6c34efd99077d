package trunk

import "time"

// A media message that missed its deadline on a trunk never reaches this
// node: the receiving end of the trunk learns it from QRTP
// (EventMessageExpired, raised when the sender's MESSAGE_EXPIRED arrives
// for a message it lacks). Nobody downstream can repair that packet —
// every NACK for it goes unanswered — so the video it belongs to stays
// undecodable until the next key frame. On a starved or lossy path that
// wait was the freeze a person sees: the SFU's down-tracks ask for a key
// frame only 600 ms after a subscriber's NACK for the missing packet, and
// browsers on their own after seconds. The trunk knows first, so it asks
// the publisher at once (keyframeEvery still throttles per flow).

// mediaExpired handles an expired message of stream id of p: on one of
// p's inbound video streams it asks for a key frame (the sender's own
// expirations are on outbound streams, only counted).
func (c *Core) mediaExpired(now time.Time, p *peer, id uint64) {
	if is, ok := p.in[id]; ok && is.kind == "video" {
		c.requestKeyframe(now, is.key)
	}
}

// mediaDeadline is when a packet of a flow whose scenario deadline is
// scenario, sent to p now, stops being worth sending: hopDeadline with the
// trunk's current smoothed
// RTT. The stream's own deadline was sized with the RTT when it opened;
// a starved node or a queue may raise the RTT later, and a deadline that
// no longer fits two retransmission rounds expires packets a person then
// waits a key frame for. The zero time (stream default) while no RTT is
// measured.
func mediaDeadline(now time.Time, p *peer, scenario time.Duration) time.Time {
	if p.metrics.rtt <= 0 {
		return time.Time{}
	}
	return now.Add(hopDeadline(scenario, p.metrics.rtt))
}

// followRTT sizes the FEC of p's media streams for the trunk's current
// RTT. A stream's FECLatency (half the RTT plus the scenario's Latency:
// FEC covers what no retransmission could repair in time) was set with
// the RTT when it opened; QRTP turns FEC off when the RTT outgrows it
// (nothing could arrive in time anyway, by that reckoning). So a node
// starved of CPU, whose RTT rose by 30 ms, lost all FEC on a 20 % loss
// trunk just when it could least afford retransmissions: its media
// expired in bursts and the far subscribers froze.
//
// The RTT it uses is the smoothed RTT plus twice its variation: QRTP
// re-checks against its own smoothed RTT about once a round trip, this
// runs once a link-state interval, and on a starved node the RTT swings by
// tens of milliseconds in between (seen: FEC still off at 160–200 ms with
// the bare smoothed RTT). The cost is FEC groups longer by the variation.
func followRTT(p *peer) {
	rtt := p.metrics.rtt
	if rtt <= 0 {
		return
	}
	rtt += 2 * p.metrics.stats.RTTVar
	for _, os := range p.out {
		if os.latency > 0 {
			os.s.SetFECLatency(rtt/2 + os.latency)
		}
	}
}
