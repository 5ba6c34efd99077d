package trunk

import "time"

// Local is the node's own media side as the Core sees it: the SFU of an
// access node (access.go), or synthetic clients in the simulator
// (trunk/sim). A forwarding node has none.
//
// The Core calls it from the goroutine that drives the Core, inside
// HandleDatagram, Poll or the Core's input methods. Implementations must
// not block and must not call back into the Core from these methods
// (queue the work instead).
type Local interface {
	// Deliver hands one RTP packet of a remote track's layer to the local
	// mirror of the track, in RTP sequence order as far as the Core could
	// restore it. b belongs to the callee from then on: the Core neither
	// keeps nor reuses it.
	Deliver(now time.Time, ref TrackRef, layer int, b []byte)
	// StartLayer starts taking a locally published layer out: from then
	// on the local side passes its packets to Core.LocalRTP, until
	// StopLayer. It reports false when the track is unknown here.
	StartLayer(ref TrackRef, layer int) bool
	// StopLayer stops what StartLayer started.
	StopLayer(ref TrackRef, layer int)
	// RequestKeyframe asks the local publisher of ref for a key frame.
	RequestKeyframe(ref TrackRef, layer int)
	// RemoteChanged says that other nodes' parts of room changed
	// (Core.RemoteParts has them): the local side mirrors them.
	RemoteChanged(room string)
}

// The Core's inputs from its Local side are its methods SetRoom (this
// node's own participants of a room), Want (the layers of a remote track
// that local subscribers watch), WantTemporal (the temporal layers they
// watch of each), RequestKeyframe (a local subscriber needs
// a key frame of a remote track) and LocalRTP (a packet of a local layer
// that StartLayer started).
