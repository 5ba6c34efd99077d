package sfu

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/transport/v4/packetio"
	"github.com/pion/webrtc/v4"
)

// A subscriber's browser names in its transport-cc feedback the SSRC of
// the last packet it received (libwebrtc sets the report's media SSRC from
// received packets). That is often not a down-track's media SSRC: it is
// the RTX SSRC while the node retransmits or probes (probe padding is RTX,
// probe.go), the FlexFEC SSRC after a repair packet, or the SSRC of a
// down-track just removed. pion reads RTCP only on each sender's media
// SSRC: RTCP routed (by pion/srtp, after decryption) to any other SSRC
// lands in a stream nobody reads ("Incoming unhandled RTCP ssrc(…)" in
// pion's log) and is lost. The estimator (bwe.go) then heard nothing for
// as long as that lasted (548–608 ms seen, docs/survival.md round 4), nor
// did the participant's LastFeedback.
//
// So every subscriber connection has its own pion API whose buffer
// factory wraps each SRTCP stream's buffer with an rtcpTap: pion/srtp
// writes every decrypted RTCP packet, whatever SSRC it names, into such a
// buffer, and the tap hands transport-cc feedback to the connection's
// estimator there and records that the participant was heard. RTP buffers
// (a subscriber connection receives none) are pion's defaults.

// Buffer limits as pion/srtp's defaults (stream_srtp.go, stream_srtcp.go).
const (
	srtpBufferLimit  = 1000 * 1000
	srtcpBufferLimit = 100 * 1000
)

// rtcpTap sees every RTCP packet one subscriber connection receives.
type rtcpTap struct {
	p   *Participant
	est atomic.Pointer[estimator] // nil until the connection's is known
}

// buffer is the connection's pion buffer factory.
func (t *rtcpTap) buffer(kind packetio.BufferPacketType, _ uint32) io.ReadWriteCloser {
	b := packetio.NewBuffer()
	if kind != packetio.RTCPBufferPacket {
		b.SetLimitSize(srtpBufferLimit)
		return b
	}
	b.SetLimitSize(srtcpBufferLimit)
	return &tapBuffer{Buffer: b, tap: t}
}

// tapBuffer is one SRTCP stream's buffer, written by pion/srtp with one
// decrypted RTCP packet at a time.
type tapBuffer struct {
	*packetio.Buffer
	tap *rtcpTap
}

// Write passes transport-cc feedback to the estimator and buffers the rest
// for the down-track that reads this SSRC, if any (downtrack_rtcp.go).
func (b *tapBuffer) Write(pkt []byte) (int, error) {
	if b.tap.take(pkt, time.Now()) {
		return len(pkt), nil
	}
	return b.Buffer.Write(pkt)
}

// take records the participant heard and hands the transport-cc feedback
// in pkt to the estimator. It reports whether pkt held nothing else (then
// no reader needs it).
func (t *rtcpTap) take(pkt []byte, now time.Time) (onlyTWCC bool) {
	if t.p != nil {
		t.p.heard(now)
	}
	est := t.est.Load()
	onlyTWCC = len(pkt) > 0
	eachRTCP(pkt, func(h rtcp.Header, b []byte) {
		if !isTWCC(h) {
			onlyTWCC = false
			return
		}
		if rep, err := parseTWCCReport(b); err == nil && est != nil {
			est.onFeedback(&rep)
		}
	})
	return onlyTWCC
}

// subscriberAPI makes each subscriber connection's pion API: all share the
// media engine, interceptors and settings, each has its own rtcpTap.
type subscriberAPI struct {
	m   *webrtc.MediaEngine
	reg *interceptor.Registry
	se  webrtc.SettingEngine
}

// newPeerConnection makes a subscriber connection whose RTCP passes tap.
func (a subscriberAPI) newPeerConnection(tap *rtcpTap) (*webrtc.PeerConnection, error) {
	se := a.se
	se.BufferFactory = tap.buffer
	api := webrtc.NewAPI(webrtc.WithMediaEngine(a.m), webrtc.WithInterceptorRegistry(a.reg), webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}
