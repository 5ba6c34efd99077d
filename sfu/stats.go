package sfu

import "sync/atomic"

// counters are the SFU's cumulative figures, read by Stats.
type counters struct {
	bytesForwarded    atomic.Uint64 // RTP bytes (header + payload) sent to subscribers, retransmissions included
	packetsForwarded  atomic.Uint64
	nacksReceived     atomic.Uint64 // sequence numbers NACKed by subscribers
	retransmits       atomic.Uint64 // packets resent from the caches
	probePackets      atomic.Uint64 // RTX copies sent to probe a subscriber's bandwidth (probe.go)
	tcpDrops          atomic.Uint64 // frames dropped on full ICE-TCP write queues (tcpconn.go)
	keyframeReqs      atomic.Uint64 // PLIs (key frame requests) sent upstream
	keyframeReplays   atomic.Uint64 // down-tracks started from a cached key frame (replay.go)
	keyframeReqErrors atomic.Uint64 // PLIs that could not be written (connection closing or broken)
	layerSwitches     atomic.Uint64 // forwarder epochs started on another layer
	badPackets        atomic.Uint64 // unparsable packets from publishers
	fecPackets        atomic.Uint64 // FlexFEC repair packets sent to subscribers
	fecBytes          atomic.Uint64
	publisherRTX      atomic.Uint64 // retransmissions received from publishers (RTX, repaired-rid)
	strayPackets      atomic.Uint64 // publisher packets dropped for arriving on a layer bound to another SSRC
	ddErrors          atomic.Uint64 // AV1 dependency descriptors that could not be parsed (svc_frame.go)
	dataReceived      atomic.Uint64 // data messages accepted from participants
	dataSent          atomic.Uint64 // data messages written to participants' channels
	dataDropped       atomic.Uint64 // data messages dropped: limits, bad input, channels not open or full
}

// Stats is a snapshot of the SFU for metrics.
type Stats struct {
	Rooms, Participants, Tracks, DownTracks int

	BytesForwarded   uint64
	PacketsForwarded uint64
	NACKs            uint64
	Retransmits      uint64
	PLIs             uint64
	// KeyframeReplays counts down-tracks started from a cached key frame
	// instead of a PLI.
	KeyframeReplays uint64
	LayerSwitches   uint64
	BadPackets      uint64
	FECPackets      uint64
	FECBytes        uint64
	// PublisherRTX counts retransmissions received from publishers.
	PublisherRTX uint64
	// StrayPackets counts publisher packets dropped because they arrived on
	// a simulcast layer already bound to another SSRC (an RTX stream that
	// claimed a layer's rid).
	StrayPackets uint64
	// DDErrors counts AV1 dependency descriptors that could not be
	// parsed, over all streams (each layer's count is in its
	// LayerSnapshot).
	DDErrors uint64
	// ProbePackets counts RTX copies sent to probe subscribers' bandwidth.
	ProbePackets uint64
	// PLIErrors counts key frame requests that could not be written to
	// a publisher (its connection closing or broken).
	PLIErrors uint64
	// TCPDrops counts packets dropped for ICE-TCP subscribers that did
	// not take them fast enough (tcpconn.go).
	TCPDrops uint64
	// DataReceived, DataSent and DataDropped count data messages accepted
	// from participants, written to them, and dropped (size and rate
	// limits, bad messages, channels not open or backed up).
	DataReceived, DataSent, DataDropped uint64
}
