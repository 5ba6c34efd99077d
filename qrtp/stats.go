package qrtp

import (
	"time"

	"github.com/qrtn/qrtn/qrtp/cc"
)

// ConnStats is a snapshot of one connection, for diagnostics, `qrtn perf`
// and metrics.
type ConnStats struct {
	// HandshakeKind is "0rtt" (the initiator knew the responder's key and
	// sent data in its first datagram), "1rtt-learned-key" (it asked for
	// the key first) or "" while the handshake runs.
	HandshakeKind string
	// Retried is true when the responder demanded a Retry cookie.
	Retried bool
	State   string
	Profile string

	MinRTT, SmoothedRTT, RTTVar, LatestRTT time.Duration
	// DeliveryRate is the latest delivery-rate sample in bytes/s: bytes
	// acknowledged between a packet's send and its ACK over that interval.
	DeliveryRate float64

	PacketsSent, PacketsReceived, PacketsAcked, PacketsLost uint64
	// SpuriousLosses counts packets declared lost and acknowledged later.
	SpuriousLosses uint64
	// LossRate is PacketsLost / PacketsSent over the connection's life.
	LossRate float64
	// Bytes on the wire (whole datagrams).
	BytesSent, BytesReceived, BytesAcked uint64
	// BytesRetransmitted counts stream and message payload bytes sent again.
	BytesRetransmitted uint64
	// FEC, sending side. FECBytesSent counts the repair frames with the
	// header and tag of the packets carrying them (they are also in
	// BytesSent: the controller sees them as sent bytes), FECRatio is
	// FECBytesSent / BytesSent. FECPacketsSent counts repair packets,
	// FECSourcePackets the packets protected. FECPeerRecovered counts our
	// packets the peer reported rebuilt from FEC (FEC_RECOVERED): they are
	// in PacketsLost too, and their data was not retransmitted.
	FECBytesSent, FECPacketsSent, FECSourcePackets, FECPeerRecovered uint64
	FECRatio                                                         float64
	// FECK, FECM and FECInterleave are the coding parameters in force
	// (zero: no FEC), chosen from LossEstimate and LossBurst (the fitted
	// loss rate and mean loss-run length), the RTT and the deadlines.
	FECK, FECM, FECInterleave int
	LossEstimate, LossBurst   float64
	// FEC, receiving side: packets rebuilt from the peer's repairs,
	// groups that could not be decoded, and repair symbols or rebuilt
	// payloads refused as inconsistent.
	FECRecovered, FECGroupsFailed, FECInvalid uint64

	MessagesSent, MessagesDelivered, MessagesExpired   uint64
	MessagesReceived, MessagesExpiredByPeer            uint64
	DatagramsSent, DatagramsReceived, DatagramsDropped uint64

	CWND          int
	BytesInFlight int
	PacingRate    float64 // bytes/s
	// CongestionControl names the controller as configured (with its
	// parameters, e.g. "qbbr:probertt=2s"); Controller is its view.
	CongestionControl string
	Controller        cc.Stats
	PTOCount          uint64
	// Migrations counts changes of the peer's address (NAT rebinding).
	Migrations uint64

	// Malformed counts authenticated packets with undecodable frames (the
	// connection closes) and long-header packets for this connection that
	// did not parse. DecryptFailures counts packets that failed AEAD
	// authentication; Duplicates, packets seen before.
	Malformed, DecryptFailures, Duplicates uint64
	EventsDropped                          uint64
	Streams                                int
}

// StreamStats is a snapshot of one stream.
type StreamStats struct {
	ID       uint64
	Mode     Mode
	Priority Priority

	BytesSent, BytesRetransmitted, BytesAcked uint64
	BytesReceived, BytesRead                  uint64
	SendBuffered, ReceiveBuffered             int

	MessagesSent, MessagesDelivered, MessagesExpired uint64
	MessagesReceived, MessagesExpiredByPeer          uint64
	// MessagesDropped counts received fragments dropped for lack of buffer.
	MessagesDropped                                    uint64
	DatagramsSent, DatagramsReceived, DatagramsDropped uint64
}

// EndpointStats counts what the endpoint saw across connections,
// including traffic that never reached one.
type EndpointStats struct {
	DatagramsReceived, DatagramsSent uint64
	BytesReceived, BytesSent         uint64
	// Malformed: datagrams that did not parse (dropped).
	Malformed uint64
	// VersionMismatch: long headers of another QRTP version (dropped).
	VersionMismatch uint64
	// UnknownConnection: packets for no connection we know (dropped).
	UnknownConnection uint64
	// DecryptFailures: short-header packets failing authentication.
	DecryptFailures uint64

	KeyRequests uint64 // KeyRequests answered
	RetriesSent uint64 // stateless Retries sent
	// StaleInitRetries: Retries (counted in RetriesSent too) answering an
	// authenticated Init whose timestamp was refused (expired or replayed),
	// so that its initiator rebuilds it at once.
	StaleInitRetries uint64
	InvalidCookies   uint64 // Inits whose cookie did not verify
	DuplicateInits   uint64 // retransmitted Inits for an existing handshake
	HandshakesOK     uint64 // connections accepted
	HandshakeTimeout uint64

	// Handshake failures by cause; none of them creates a connection.
	HandshakeDecrypt, HandshakeReplay, HandshakeExpired uint64
	HandshakeUnauthorized, HandshakeMalformed           uint64
	// HandshakeBusy: dropped for the connection, pending or rate limit.
	HandshakeBusy uint64
	// HandshakeRejectedNotAccepting: Inits to an endpoint without Accept.
	HandshakeRejectedNotAccepting uint64
	// StatelessDropped: KeyResponse/Retry answers dropped because the
	// bounded queue for them was full.
	StatelessDropped uint64

	Connections int // open now
}

// fecStats fills the FEC fields of a connection snapshot.
func (c *Conn) fecStats(st *ConnStats) {
	tx, rx := c.fecTx, c.fecRx
	st.FECBytesSent, st.FECPacketsSent = tx.stats.repairBytes, tx.stats.repairs
	st.FECSourcePackets = tx.stats.sources
	if st.BytesSent > 0 {
		st.FECRatio = float64(st.FECBytesSent) / float64(st.BytesSent)
	}
	st.FECK, st.FECM, st.FECInterleave = tx.params.K, tx.params.M, tx.params.Interleave
	st.LossEstimate, st.LossBurst = c.rec.est.Loss(), c.rec.est.MeanBurst()
	ds := rx.dec.Stats()
	st.FECRecovered, st.FECGroupsFailed, st.FECInvalid = rx.stats.recovered, ds.GroupsFailed, rx.stats.invalid
}
