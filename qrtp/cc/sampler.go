package cc

import "time"

// RateSample is one delivery-rate observation, taken when an ACK (or a
// loss-detection timer) arrives, in the sense of
// draft-cheng-iccrg-delivery-rate-estimation: Delivered bytes reached the
// receiver over Interval. The sample is anchored on the most recently sent
// packet that this event acknowledged.
type RateSample struct {
	// Valid is false when the event acknowledged no tracked packet or the
	// interval was implausibly short (below min RTT); then only the
	// Acked/Lost counts and PriorInFlight mean anything.
	Valid bool
	// Delivered is the bytes delivered between the anchor packet's send and
	// now; Interval is max(send phase, ACK phase) over that flight.
	Delivered int64
	Interval  time.Duration
	// SendElapsed and AckElapsed are the two phases Interval is the max of.
	SendElapsed, AckElapsed time.Duration
	// PriorDelivered is the connection's delivered count when the anchor
	// packet was sent; BBR counts rounds with it.
	PriorDelivered int64
	// PriorTime is when PriorDelivered was reached.
	PriorTime time.Time
	// IsAppLimited marks a sample taken over a flight during which the sender
	// ran out of data: it says little about the path if it is low.
	IsAppLimited bool
	// Lost is the bytes declared lost between the anchor packet's send and
	// now, and TxInFlight the bytes in flight when it was sent.
	Lost       int64
	TxInFlight int
	// AckedBytes, LostBytes, AckedPackets and LostPackets count what this
	// event newly acknowledged or declared lost.
	AckedBytes, LostBytes     int
	AckedPackets, LostPackets int
	// AckedByClass and LostByClass split the newly acked and lost packets
	// by the class their sender tagged them with (see Sampler.SetClass).
	AckedByClass, LostByClass [NumPacketClasses]int
	// PriorInFlight is the bytes in flight before the event.
	PriorInFlight int
	// AnchorSent is when the anchor packet was sent.
	AnchorSent time.Time
}

// Rate returns the sample's delivery rate in bytes per second, 0 if the
// sample is not valid.
func (rs *RateSample) Rate() float64 {
	if !rs.Valid || rs.Interval <= 0 {
		return 0
	}
	return float64(rs.Delivered) / rs.Interval.Seconds()
}

// NumPacketClasses is how many classes a controller can tag packets with.
const NumPacketClasses = 4

// sentState is what the sampler remembers of one packet in flight.
type sentState struct {
	number        uint64
	inUse         bool
	appLimited    bool
	class         uint8
	bytes         int
	txInFlight    int
	sent          time.Time
	firstSent     time.Time // start of the send phase this packet belongs to
	deliveredTime time.Time
	delivered     int64
	lost          int64
}

// Sampler is the delivery-rate estimator of
// draft-cheng-iccrg-delivery-rate-estimation (the algorithm of Linux
// tcp_rate.c), counting bytes. It keeps per-packet state in a ring indexed
// by packet number, so each send, ACK and loss costs O(1); the ring grows
// (doubling) while more packets are in flight than it holds, up to a bound,
// after which the oldest unacknowledged packets simply stop yielding samples.
type Sampler struct {
	ring []sentState
	max  int

	delivered     int64     // bytes delivered so far
	deliveredTime time.Time // when delivered last grew
	firstSent     time.Time // send time of the most recently acked packet's flight
	lost          int64     // bytes declared lost so far
	appLimited    int64     // 0, or the delivered count at which app-limited ends
	class         uint8     // class tagged onto packets sent from now on
}

const (
	samplerInitialRing = 1 << 10
	samplerMaxRing     = 1 << 18
)

// NewSampler returns an empty sampler.
func NewSampler() *Sampler {
	return &Sampler{ring: make([]sentState, samplerInitialRing), max: samplerMaxRing}
}

// Delivered returns the bytes delivered so far.
func (s *Sampler) Delivered() int64 { return s.delivered }

// Lost returns the bytes declared lost so far.
func (s *Sampler) Lost() int64 { return s.lost }

// DeliveredTime returns when the delivered count last grew.
func (s *Sampler) DeliveredTime() time.Time { return s.deliveredTime }

// AppLimited reports whether samples are currently marked app-limited.
func (s *Sampler) AppLimited() bool { return s.appLimited != 0 }

// SetClass sets the class (below NumPacketClasses) tagged onto packets sent
// from now on; controllers use it to compare loss between sending phases.
func (s *Sampler) SetClass(c uint8) { s.class = c % NumPacketClasses }

// OnPacketSent records a packet leaving the sender. inFlightBefore is the
// bytes in flight before it.
func (s *Sampler) OnPacketSent(now time.Time, number uint64, bytes, inFlightBefore int) {
	if inFlightBefore == 0 {
		// Nothing in flight: the send phase starts now, and any ACK from
		// here on covers data the network moved entirely after now.
		s.firstSent = now
		s.deliveredTime = now
	}
	slot := s.slot(number)
	*slot = sentState{
		number:        number,
		inUse:         true,
		appLimited:    s.appLimited != 0,
		class:         s.class,
		bytes:         bytes,
		txInFlight:    inFlightBefore + bytes,
		sent:          now,
		firstSent:     s.firstSent,
		deliveredTime: s.deliveredTime,
		delivered:     s.delivered,
		lost:          s.lost,
	}
}

// slot returns the ring entry for number, growing the ring when that entry
// still holds a packet in flight and the bound allows.
func (s *Sampler) slot(number uint64) *sentState {
	for {
		e := &s.ring[number&uint64(len(s.ring)-1)]
		if !e.inUse || e.number == number || len(s.ring) >= s.max {
			return e
		}
		s.grow()
	}
}

func (s *Sampler) grow() {
	old := s.ring
	s.ring = make([]sentState, 2*len(old))
	mask := uint64(len(s.ring) - 1)
	for _, e := range old {
		if e.inUse {
			s.ring[e.number&mask] = e
		}
	}
}

// lookup returns the state of packet number if it is still tracked.
func (s *Sampler) lookup(number uint64) *sentState {
	e := &s.ring[number&uint64(len(s.ring)-1)]
	if !e.inUse || e.number != number {
		return nil
	}
	return e
}

// OnAppLimited marks the current flight app-limited: samples stay marked
// until the data in flight now has been delivered.
func (s *Sampler) OnAppLimited(bytesInFlight int) {
	s.appLimited = max(s.delivered+int64(bytesInFlight), 1)
}

// OnCongestionEvent accounts the event's acked and lost packets and returns
// the rate sample it yields. minRTT (0 if unknown) rejects samples whose
// interval is too short to be believable.
func (s *Sampler) OnCongestionEvent(now time.Time, e *CongestionEvent, minRTT time.Duration) RateSample {
	rs := RateSample{PriorInFlight: e.PriorInFlight}
	for _, p := range e.Lost {
		rs.LostBytes += p.Bytes
		rs.LostPackets++
		s.lost += int64(p.Bytes)
		if st := s.lookup(p.Number); st != nil {
			rs.LostByClass[st.class] += p.Bytes
			st.inUse = false
		}
	}
	var anchor *sentState
	for _, p := range e.Acked {
		rs.AckedBytes += p.Bytes
		rs.AckedPackets++
		st := s.lookup(p.Number)
		if st == nil {
			continue // already accounted, or too old to be tracked
		}
		rs.AckedByClass[st.class] += p.Bytes
		s.delivered += int64(st.bytes)
		s.deliveredTime = now
		if anchor == nil || st.sent.After(anchor.sent) || (st.sent.Equal(anchor.sent) && st.number > anchor.number) {
			anchor = st
		}
		st.inUse = false
	}
	if s.appLimited != 0 && s.delivered > s.appLimited {
		s.appLimited = 0 // the app-limited bubble has been delivered
	}
	if anchor == nil {
		return rs
	}
	rs.PriorDelivered = anchor.delivered
	rs.PriorTime = anchor.deliveredTime
	rs.IsAppLimited = anchor.appLimited
	rs.TxInFlight = anchor.txInFlight
	rs.AnchorSent = anchor.sent
	rs.Delivered = s.delivered - anchor.delivered
	rs.Lost = s.lost - anchor.lost
	rs.SendElapsed = anchor.sent.Sub(anchor.firstSent)
	rs.AckElapsed = now.Sub(anchor.deliveredTime)
	s.firstSent = anchor.sent
	rs.Interval = max(rs.SendElapsed, rs.AckElapsed)
	// An interval below min RTT cannot be real: it comes from a flight that
	// straddles a retransmission or from reordering.
	rs.Valid = rs.Interval > 0 && rs.Delivered > 0 && (minRTT <= 0 || rs.Interval >= minRTT)
	return rs
}
