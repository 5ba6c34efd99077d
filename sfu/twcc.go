package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// The driver of the send-side estimate (bwe.go): an interceptor on every
// subscriber PeerConnection that stamps the transport-wide sequence number
// on each packet of a stream that negotiated transport-cc, remembers when
// it went out and how big it was. The subscriber's feedback reports reach
// the estimator through the connection's rtcpTap (rtcptap.go), whatever
// SSRC they name.

// twccHistory is how many sent packets are remembered, a power of two:
// feedback arrives every 50–100 ms, and at a few thousand packets a second
// to one subscriber this covers more than a second.
const twccHistory = 1 << 12

// twccExtSlots: a stream's extension payloads rotate through this many
// buffers, more than the packets the FlexFEC interceptor keeps (videoSlots):
// the header it retains still points at its payload.
const twccExtSlots = 64

// estimator is one subscriber connection's bandwidth estimate and the
// record of what was sent on it. Sending is lock-free; feedback takes mu.
type estimator struct {
	base time.Time // the origin of the sent times, monotonic
	seq  atomic.Uint32
	// sent[seq % twccHistory] packs seq (16 bits), size (16) and the send
	// time in microseconds since base, modulo 2^32 (32).
	sent [twccHistory]atomic.Uint64

	stalls *stallWatch // the node's local stalls; nil: none watched

	mu      sync.Mutex
	core    *bweCore
	acked   []ackedPacket // feedback's scratch
	refBase int64         // unwrapped reference time, µs; set by the first report
	haveRef bool
	lastRef uint32
	reports uint64 // transport-cc reports taken
}

func newEstimator(initial, minRate, maxRate int) *estimator {
	return &estimator{base: time.Now(), core: newBWECore(initial, minRate, maxRate)}
}

// GetTargetBitrate is the estimate, bits/s.
func (e *estimator) GetTargetBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.core.target()
}

// evidence reads the delay detector's state and the loss (bweEvidence).
func (e *estimator) evidence() (overuse bool, loss float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.core.evidence()
}

// onSent records a packet going out with transport-wide number seq.
func (e *estimator) onSent(seq uint16, size int) {
	us := uint64(time.Since(e.base) / time.Microsecond)
	e.sent[seq%twccHistory].Store(uint64(seq)<<48 | uint64(min(size, 0xffff))<<32 | us&0xffffffff)
}

// lookup finds a sent packet's time and size; ok is false when it was
// overwritten or never sent. nowUs unwraps the 32-bit time.
func (e *estimator) lookup(seq uint16, nowUs int64) (sent time.Duration, size int, ok bool) {
	v := e.sent[seq%twccHistory].Load()
	if v == 0 || uint16(v>>48) != seq {
		return 0, 0, false
	}
	age := uint32(uint64(nowUs) - v) // modulo 2^32: fine for feedback within an hour
	return time.Duration(nowUs-int64(age)) * time.Microsecond, int(v >> 32 & 0xffff), true
}

// onFeedback turns a transport-cc report into acknowledged packets and
// feeds the core.
func (e *estimator) onFeedback(r *twccReport) {
	now := time.Since(e.base)
	nowUs := int64(now / time.Microsecond)
	e.mu.Lock()
	defer e.mu.Unlock()
	// The reference time is 24 bits of 64 ms: unwrap it against the last.
	ref := r.ref
	if !e.haveRef {
		e.refBase, e.haveRef = int64(ref)*64000, true
	} else {
		d := int32((ref-e.lastRef)<<8) >> 8 // signed 24-bit step
		e.refBase += int64(d) * 64000
	}
	e.lastRef = ref
	e.reports++
	if end, ok := e.stalls.lastStall(); ok {
		e.core.stalled(end.Sub(e.base))
	}
	arrival := e.refBase
	acked := e.acked[:0]
	seq := r.base
	r.each(func(sym uint16, delta int64) {
		p := ackedPacket{lost: sym == rtcp.TypeTCCPacketNotReceived}
		arrival += delta
		sent, size, ok := e.lookup(seq, nowUs)
		seq++
		if !ok || sym == rtcp.TypeTCCPacketReceivedWithoutDelta {
			return
		}
		p.sent, p.size, p.arrived = sent, size, time.Duration(arrival)*time.Microsecond
		acked = append(acked, p)
	})
	e.acked = acked[:0]
	e.core.feedback(now, acked)
}

// twccFactory makes the interceptor for each subscriber PeerConnection and
// announces its estimator (keyed by the PeerConnection's ID) to onNew.
type twccFactory struct {
	initial, min, max int
	stalls            *stallWatch // nil: none watched
	onNew             func(id string, e *estimator)
}

// NewInterceptor makes one PeerConnection's interceptor.
func (f twccFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	e := newEstimator(f.initial, f.min, f.max)
	e.stalls = f.stalls
	if f.onNew != nil {
		f.onNew(id, e)
	}
	return &twccInterceptor{est: e}, nil
}

type twccInterceptor struct {
	interceptor.NoOp
	est *estimator
}

// BindLocalStream stamps and records every packet of a stream that
// negotiated transport-cc; other streams pass untouched.
func (t *twccInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == sdp.TransportCCURI {
			id = uint8(x.ID)
		}
	}
	if id == 0 {
		return w
	}
	var slots [twccExtSlots][2]byte
	next := 0
	e := t.est
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		seq := uint16(e.seq.Add(1) - 1)
		b := &slots[next]
		next = (next + 1) % twccExtSlots
		b[0], b[1] = byte(seq>>8), byte(seq)
		if err := h.SetExtension(id, b[:]); err != nil {
			return 0, err
		}
		e.onSent(seq, h.MarshalSize()+len(payload))
		return w.Write(h, payload, a)
	})
}
